"""The store tests' database fixtures (both backends), for the retention store tests."""

from tests.unit.store.conftest import backend, engine, session

__all__ = ["backend", "engine", "session"]
