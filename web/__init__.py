"""HTTP plumbing shared by the blueprints: JSON bodies, query arguments, the unit of work."""
