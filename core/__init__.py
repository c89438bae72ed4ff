"""What every room shares: configuration, the vocabulary, time, the database session, the domain's
exceptions. Importing ``core.vocab`` (or this package) pulls in nothing else: the engine uses it."""
