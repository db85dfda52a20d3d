"""Creating and upgrading the node's database schema with the Alembic migrations shipped
inside this package (``node/store/migrations``).

The schema is only ever made by migrations, never by ``create_all``::

    upgrade("sqlite:////srv/accord/accord.db")      # empty or older -> current
    check_schema(engine)                             # at start-up: refuse anything else

A database migrated by a newer Accord carries a revision this code does not know: every
function here refuses it with :class:`SchemaTooNewError` instead of guessing. On
PostgreSQL, concurrent upgrades (several replicas starting at once) are serialised by an
advisory lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from node.store.db import create_engine, redact, translate_errors
from node.store.errors import (
    ForeignDatabaseError,
    SchemaError,
    SchemaOutOfDateError,
    SchemaTooNewError,
)

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
#: Key of the PostgreSQL advisory lock held while migrating ("ACCORD" in ASCII).
_MIGRATION_LOCK = 0x4143434F5244
_VERSION_TABLE = "alembic_version"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for the shipped migrations, without any ``alembic.ini``.

    For developers writing the next migration::

        from alembic import command
        command.revision(alembic_config(url), "add reads partitions", autogenerate=True,
                         rev_id="0002")
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The schema revision this code works with."""
    head = _scripts().get_current_head()
    assert head is not None, "the migrations directory holds no revision"
    return head


def known_revisions() -> frozenset[str]:
    """Every schema revision this code can upgrade from."""
    return frozenset(s.revision for s in _scripts().walk_revisions())


@contextmanager
def _engine(target: str | Engine, *, must_exist: bool = False) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = create_engine(target, must_exist=must_exist)
    try:
        yield engine
    finally:
        engine.dispose()


def _current(conn: Connection, url: str) -> str | None:
    heads = MigrationContext.configure(conn).get_current_heads()
    if len(heads) > 1:
        raise SchemaError(f"database {url} has several schema revisions: {', '.join(heads)}")
    return heads[0] if heads else None


def _refuse_unknown(revision: str | None, url: str) -> None:
    if revision is not None and revision not in known_revisions():
        raise SchemaTooNewError(url, revision)


def current_revision(target: str | Engine) -> str | None:
    """The schema revision of the database (``None`` when it has no Accord schema).

    Never creates a database: a missing SQLite file is :class:`DatabaseUnreachableError`.
    """
    with (
        _engine(target, must_exist=True) as engine,
        translate_errors(engine),
        engine.connect() as conn,
    ):
        return _current(conn, redact(engine.url))


def check_schema(target: str | Engine) -> str:
    """Return the database's revision if it is exactly this code's; raise otherwise.

    :class:`SchemaTooNewError` for a revision this code does not know,
    :class:`SchemaOutOfDateError` for an older one or an empty database. Never creates
    a database.
    """
    with _engine(target, must_exist=True) as engine:
        url = redact(engine.url)
        current = current_revision(engine)
        _refuse_unknown(current, url)
        head = head_revision()
        if current != head:
            raise SchemaOutOfDateError(url, current, head)
        return current


def upgrade(target: str | Engine, revision: str = "head") -> str:
    """Migrate the database to ``revision`` (the newest by default) and return it.

    All steps run in one transaction on both dialects: a failed upgrade leaves the
    database as it was. Refuses a newer schema (:class:`SchemaTooNewError`) and a
    non-empty database that Accord did not create (:class:`ForeignDatabaseError`).
    """
    with _engine(target) as engine, translate_errors(engine), engine.begin() as conn:
        url = redact(engine.url)
        _lock(conn)
        current = _current(conn, url)
        _refuse_unknown(current, url)
        if current is None and _has_tables(conn):
            raise ForeignDatabaseError(url)
        _run(conn, "upgrade", revision)
        new = _current(conn, url)
    assert new is not None
    return new


def downgrade(target: str | Engine, revision: str) -> str | None:
    """Migrate the database back to ``revision`` (``"base"``: drop everything).

    For development and tests: a node never downgrades its ledger in production.
    """
    with _engine(target) as engine, translate_errors(engine), engine.begin() as conn:
        url = redact(engine.url)
        _lock(conn)
        _refuse_unknown(_current(conn, url), url)
        _run(conn, "downgrade", revision)
        return _current(conn, url)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})


def _has_tables(conn: Connection) -> bool:
    return any(name != _VERSION_TABLE for name in inspect(conn).get_table_names())


def _run(conn: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    if direction == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)
