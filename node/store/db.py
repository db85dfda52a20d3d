"""Opening the node's database: engines, sessions, and the translation of driver errors.

SQLite (one file in the node home) is the default; PostgreSQL is reached through psycopg 3
with a URL such as ``postgresql+psycopg://accord@db.internal/accord`` (``postgresql://``
and ``postgres://`` mean the same). Typical use::

    engine = create_engine(config.database_url)   # raises DatabaseUnreachableError early
    sessions = session_factory(engine)
    with session_scope(sessions) as session:       # commits, or rolls back on error
        CameraRepository(session).add(camera)

Every SQLite connection gets the same settings: write-ahead logging (readers do not block
the writer), foreign keys enforced, a busy timeout instead of instant "database is
locked", ``synchronous=FULL`` (a committed ledger entry survives a power cut),
``secure_delete`` (destroyed keys and deleted reads are overwritten, not left in free
pages) and ``recursive_triggers`` (so ``INSERT OR REPLACE`` cannot bypass the append-only
triggers).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import sqlalchemy
from sqlalchemy import Connection, Engine, Table, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, CursorResult, Result, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import Insert

from node.store.base import Base
from node.store.errors import (
    AppendOnlyViolationError,
    ConstraintViolationError,
    DatabaseBusyError,
    DatabaseUnreachableError,
    DuplicateError,
    InvalidDatabaseUrlError,
    ReferenceViolationError,
    StoreError,
)

#: Seconds a writer waits for a lock (SQLite) or a server (PostgreSQL connect) before failing.
BUSY_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10
#: Marker in the message of the append-only triggers (see the initial migration).
APPEND_ONLY_MARKER = "accord-append-only"

_PASSWORD_RE = re.compile(r"(://[^:/@]*:)[^@]*@")


def redact(url: str | URL) -> str:
    """``url`` as text with its password replaced by ``***``: safe for messages and logs."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sa_exc.ArgumentError, ValueError):
        return _PASSWORD_RE.sub(r"\1***@", url)


def parse_url(url: str) -> URL:
    """Parse and check a database URL; ``postgresql://`` and ``postgres://`` become psycopg 3.

    Raises :class:`InvalidDatabaseUrlError` for anything but SQLite and PostgreSQL via psycopg.
    """
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError) as e:
        raise InvalidDatabaseUrlError(redact(url), "not a database URL") from e
    driver = parsed.drivername
    if driver in ("postgres", "postgresql", "postgres+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if driver in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
        return parsed
    raise InvalidDatabaseUrlError(
        redact(parsed), f"unsupported database {driver!r}; use sqlite or postgresql+psycopg"
    )


def create_engine(
    url: str, *, echo: bool = False, check: bool = True, must_exist: bool = False
) -> Engine:
    """An engine for ``url`` with Accord's connection settings.

    With ``check`` (the default) one connection is opened at once, so that a wrong path,
    an unreachable server or bad credentials fail here with
    :class:`DatabaseUnreachableError` rather than on the first query. A new SQLite file
    is created readable by its owner only (it holds data keys); with ``must_exist`` a
    missing one is an error instead.
    """
    parsed = parse_url(url)
    path = sqlite_path(parsed)
    if path is not None:
        _create_private_file(path, parsed, must_exist)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "postgresql":
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
        kwargs.update(connect_args=connect_args, pool_pre_ping=True)
    else:
        kwargs.update(connect_args={"timeout": BUSY_TIMEOUT_S})
    try:
        engine = sqlalchemy.create_engine(parsed, **kwargs)
    except (ImportError, sa_exc.NoSuchModuleError) as e:
        raise InvalidDatabaseUrlError(
            redact(parsed), "PostgreSQL needs psycopg 3: pip install 'accord[postgres]'"
        ) from e
    except sa_exc.ArgumentError as e:
        raise InvalidDatabaseUrlError(redact(parsed), str(e)) from e
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    if check:
        try:
            with translate_errors(engine), engine.connect():
                pass
        except BaseException:
            engine.dispose()
            raise
    return engine


def sqlite_path(url: URL) -> Path | None:
    """The file of an SQLite URL; ``None`` for PostgreSQL and in-memory databases."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _create_private_file(path: Path, url: URL, must_exist: bool) -> None:
    if path.exists():
        return
    if must_exist:
        raise DatabaseUnreachableError(redact(url), "no such database file")
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as e:
        raise DatabaseUnreachableError(redact(url), e.strerror or str(e)) from e


def _configure_sqlite(engine: Engine) -> None:
    busy_ms = int(BUSY_TIMEOUT_S * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
        # DDL is transactional and SAVEPOINT works (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in (
                "foreign_keys = ON",
                f"busy_timeout = {busy_ms}",
                "journal_mode = WAL",
                "synchronous = FULL",
                "secure_delete = ON",
                "recursive_triggers = ON",
            ):
                cursor.execute(f"PRAGMA {pragma}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front (waiting up to busy_timeout). A deferred
        # BEGIN that reads and then writes fails at once with "database is locked" if
        # another connection committed in between, which no timeout can help.
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``. Objects stay readable after commit (no expiry)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back if it raises.

    Driver errors, including those at commit, come out as :class:`StoreError`.
    """
    with factory() as session, translate_errors(session), session.begin():
        yield session


def rowcount(result: Result[Any]) -> int:
    """Rows matched by the UPDATE or DELETE that produced ``result``."""
    return cast(CursorResult[Any], result).rowcount


def truncate_wal(engine: Engine) -> None:
    """Fold SQLite's write-ahead log into the database and empty it.

    Call after destroying keys or deleting expired data, so the old pages do not linger
    in the ``-wal`` file. A no-op on PostgreSQL (there, ``VACUUM`` reclaims dead rows).
    """
    if engine.dialect.name != "sqlite":
        return
    with translate_errors(engine), engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # no open transaction
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def table_of(model: type[Base]) -> Table:
    """The table of a mapped class, typed as one."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def insert_ignoring_duplicates(
    session: Session, model: type[Base], unique: Sequence[str]
) -> Insert:
    """An INSERT into ``model``'s table that skips rows clashing on the ``unique`` columns.

    Portable across SQLite and PostgreSQL (both spell it ``ON CONFLICT ... DO NOTHING``).
    """
    table = table_of(model)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))
    if dialect == "sqlite":
        return sqlite_dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))
    raise StoreError(f"unsupported database dialect {dialect!r}")


# -- driver errors -------------------------------------------------------------------------


@contextmanager
def translate_errors(where: Session | Engine | Connection | None = None) -> Iterator[None]:
    """Turn SQLAlchemy and driver errors raised in the block into :class:`StoreError` s.

    ``where`` names the database in connection errors (password hidden).
    """
    try:
        yield
    except sa_exc.DBAPIError as e:
        raise translate(e, _url_of(where)) from e


def _url_of(where: Session | Engine | Connection | None) -> str:
    if where is None:
        return "(database)"
    bind = where.get_bind() if isinstance(where, Session) else where
    return redact(bind.engine.url)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    # libpq does not echo passwords, but be sure a URL in a message never carries one.
    return _PASSWORD_RE.sub(r"\1***@", text)


def translate(error: sa_exc.DBAPIError, url: str) -> StoreError:
    """The :class:`StoreError` for a driver error; messages name tables, not row values."""
    orig: BaseException = error.orig if error.orig is not None else error
    message = str(orig)
    if APPEND_ONLY_MARKER in message:
        table = message.split(APPEND_ONLY_MARKER, 1)[1].strip(" :\n").split()[0:1]
        return AppendOnlyViolationError(table[0] if table else None)
    if isinstance(orig, sqlite3.Error):
        return _translate_sqlite(orig, url, error)
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return _translate_postgres(orig, sqlstate, url)
    if isinstance(error, sa_exc.OperationalError) or error.connection_invalidated:
        return DatabaseUnreachableError(url, _first_line(orig))
    return StoreError(f"database error: {_first_line(orig)}")


def _translate_sqlite(orig: sqlite3.Error, url: str, error: sa_exc.DBAPIError) -> StoreError:
    name = getattr(orig, "sqlite_errorname", "") or ""
    text = _first_line(orig)
    what = text.split("failed: ", 1)[1] if "failed: " in text else None
    if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        return DuplicateError(f"duplicate {what or 'key'}", what)
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return ReferenceViolationError(
            "foreign key: the referenced row is missing, or the row is still referenced"
        )
    if name.startswith("SQLITE_CONSTRAINT"):
        return ConstraintViolationError(f"constraint failed: {what or text}", what)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DatabaseBusyError(f"database {url} is locked by another writer: {text}")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_PERM", "SQLITE_AUTH")):
        return DatabaseUnreachableError(url, text)
    if name.startswith(("SQLITE_READONLY", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CORRUPT")):
        return StoreError(f"database {url}: {text}")
    if error.connection_invalidated:
        return DatabaseUnreachableError(url, text)
    return StoreError(f"database error: {text}")


def _translate_postgres(orig: BaseException, sqlstate: str, url: str) -> StoreError:
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    table = getattr(diag, "table_name", None)
    where = " ".join(p for p in (f"on {table}" if table else "", constraint or "") if p)
    text = _first_line(orig)
    if sqlstate == "23505":
        return DuplicateError(f"duplicate key {where}".rstrip(), constraint)
    if sqlstate == "23503":
        return ReferenceViolationError(
            f"foreign key {where}".rstrip()
            + ": the referenced row is missing, or the row is still referenced",
            constraint,
        )
    if sqlstate.startswith("23"):
        return ConstraintViolationError(f"constraint failed {where}".rstrip(), constraint)
    if sqlstate in ("40001", "40P01", "55P03"):
        return DatabaseBusyError(f"database {url}: {text}")
    if sqlstate.startswith(("08", "28", "3D", "53", "57P")):
        return DatabaseUnreachableError(url, text)
    return StoreError(f"database error {sqlstate}: {text}")
