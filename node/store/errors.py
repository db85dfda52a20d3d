"""Errors of the node's store.

By who is at fault:

- the operator's setup: :class:`InvalidDatabaseUrlError`, :class:`DatabaseUnreachableError`
  and the schema errors (:class:`SchemaTooNewError`, :class:`SchemaOutOfDateError`,
  :class:`ForeignDatabaseError`), each naming the database with its password hidden;
- the caller broke a rule the database keeps: :class:`DuplicateError`,
  :class:`ReferenceViolationError`, :class:`ConstraintViolationError`,
  :class:`AppendOnlyViolationError`, :class:`NotFoundError`,
  :class:`InvalidTransitionError`, :class:`LedgerSequenceError`,
  :class:`EpochDestroyedError`;
- contention: :class:`DatabaseBusyError`, worth a retry.

Driver exceptions never escape the store: they are translated by
:func:`node.store.db.translate_errors` and chained (``raise ... from e``). Messages name
tables and constraints, never the values of a row.
"""

from __future__ import annotations

from node.errors import NodeError, SetupError


class StoreError(NodeError):
    """Base class of every error raised by ``node.store``."""


class InvalidDatabaseUrlError(StoreError, SetupError):
    """The database URL is malformed or names a database Accord does not support."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"database URL {url}: {reason}")
        self.url = url


class DatabaseUnreachableError(StoreError):
    """The database cannot be opened or connected to (``url`` has its password hidden)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot open database {url}: {reason}")
        self.url = url


class SchemaError(StoreError, SetupError):
    """The database's schema is not the one this version of Accord works with."""


class SchemaTooNewError(SchemaError):
    """The database was migrated by a newer Accord: this code must not touch it."""

    def __init__(self, url: str, revision: str) -> None:
        super().__init__(
            f"database {url} has schema revision {revision}, unknown to this version of "
            "Accord (made by a newer version?); upgrade Accord, do not downgrade the database"
        )
        self.url = url
        self.revision = revision


class SchemaOutOfDateError(SchemaError):
    """The database has not been migrated to this code's schema yet."""

    def __init__(self, url: str, current: str | None, head: str) -> None:
        have = f"schema revision {current}" if current else "no Accord schema"
        super().__init__(f"database {url} has {have}, this version needs {head}; migrate it")
        self.url = url
        self.current = current
        self.head = head


class ForeignDatabaseError(SchemaError):
    """The database holds tables but no Accord schema revision: it belongs to something else."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"database {url} already holds tables that Accord did not create; "
            "refusing to migrate it (use an empty database)"
        )
        self.url = url


class ConstraintViolationError(StoreError):
    """A write broke a rule of the schema (a check, a NOT NULL column)."""

    def __init__(self, message: str, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class DuplicateError(ConstraintViolationError):
    """A row with the same unique key exists already."""


class ReferenceViolationError(ConstraintViolationError):
    """A write names a row that does not exist, or a delete would orphan rows that need it."""


class AppendOnlyViolationError(StoreError):
    """Something tried to change or delete a row of an append-only ledger table."""

    def __init__(self, table: str | None) -> None:
        what = f"table {table}" if table else "a ledger table"
        super().__init__(f"{what} is append-only: rows can never be updated or deleted")
        self.table = table


class NotFoundError(StoreError):
    """The row a change refers to does not exist."""


class InvalidTransitionError(StoreError):
    """A status change that the life cycle of the row does not allow."""


class LedgerSequenceError(StoreError):
    """Entries handed to the ledger do not extend it contiguously from its current size."""


class EpochDestroyedError(StoreError):
    """Data was written for an epoch whose key has been destroyed."""


class DatabaseBusyError(StoreError):
    """The database is locked by another writer or aborted us to avoid a deadlock; retry."""
