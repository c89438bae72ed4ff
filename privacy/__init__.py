"""Residents' personal data (PIPL): what is kept and for how long (retention.py), the resident's copy of their data
and their erasure (rights.py), the keys contacts are encrypted under (keys.py); the HTTP side (api.py) with the
read audit's log, and the command line (cli.py). What is personal is ``models.personal``, the one inventory."""
