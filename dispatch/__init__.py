"""The dispatcher: the engine's side in the database. It reads the pools as plain views
(``views``), keeps the classifier in use (``classifier``), ranks providers for one need
(``proposals``) and matches a scope in a batch (``batch``). It computes and stores proposals and
never moves a need: the workflow records every outcome."""
