"""The matching engine: plain data in, plain data out.

Nothing here imports flask or sqlalchemy; the dispatcher (``dispatch/``) loads rows, turns them into
the types of :mod:`matching.types` and stores what comes back.
"""
