"""Accounts, tokens and sessions (``auth``); the one policy of who may see and do what (``policy``);
deny-by-default enforcement of each route's declared access (``guard``)."""
