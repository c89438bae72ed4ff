"""What happens to a need once it is in the pool: the state machine and the effects of each action,
the audit trail, batch matching recorded as the system's moves, SLA and escalation, the grid
council, reports and notifications."""
