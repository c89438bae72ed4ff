"""The matching engine: plain data in, plain data out.

Nothing here imports flask or sqlalchemy; services in pools/ and workflow/ load rows, turn them
into the types of :mod:`matching.types` and store what comes back.
"""
