"""Alembic migrations of the node's database (run through :mod:`node.store.migrate`)."""
