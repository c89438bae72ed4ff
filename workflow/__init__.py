"""Who does what after the matcher proposes: accounts, the need's state machine, audit, SLA,
the grid council and reports."""
