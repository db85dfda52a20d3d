"""Schema migrations: up from empty, refusing newer or foreign schemas, all or nothing."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from node.store.db import create_engine
from node.store.errors import (
    DatabaseUnreachableError,
    ForeignDatabaseError,
    SchemaOutOfDateError,
    SchemaTooNewError,
    StoreError,
)
from node.store.migrate import (
    MIGRATIONS_DIR,
    check_schema,
    current_revision,
    downgrade,
    head_revision,
    known_revisions,
    upgrade,
)
from node.store.models import Base


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _create_empty(url: str) -> None:
    create_engine(url).dispose()


def test_upgrade_from_empty_creates_the_whole_schema(fresh_url: str) -> None:
    _create_empty(fresh_url)
    assert current_revision(fresh_url) is None
    assert upgrade(fresh_url) == head_revision()
    assert current_revision(fresh_url) == head_revision()
    assert check_schema(fresh_url) == head_revision()
    assert _tables(fresh_url) == set(Base.metadata.tables) | {"alembic_version"}


def test_upgrade_is_idempotent(fresh_url: str) -> None:
    upgrade(fresh_url)
    assert upgrade(fresh_url) == head_revision()


def test_migrations_match_the_models(fresh_url: str) -> None:
    """The hand-written migration and the models describe the same schema."""
    upgrade(fresh_url)
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_a_newer_schema_is_refused(fresh_url: str) -> None:
    upgrade(fresh_url)
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    assert "9999_from_the_future" not in known_revisions()

    with pytest.raises(SchemaTooNewError, match="9999_from_the_future") as caught:
        upgrade(fresh_url)
    assert "newer" in str(caught.value)
    with pytest.raises(SchemaTooNewError):
        check_schema(fresh_url)
    with pytest.raises(SchemaTooNewError):
        downgrade(fresh_url, "base")
    assert current_revision(fresh_url) == "9999_from_the_future"


def test_an_unmigrated_database_is_out_of_date(fresh_url: str) -> None:
    _create_empty(fresh_url)
    with pytest.raises(SchemaOutOfDateError, match="no Accord schema"):
        check_schema(fresh_url)


def test_a_database_of_something_else_is_not_touched(fresh_url: str) -> None:
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE payroll (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(ForeignDatabaseError):
        upgrade(fresh_url)
    assert _tables(fresh_url) == {"payroll"}


def test_a_failed_upgrade_leaves_the_database_as_it_was(fresh_url: str) -> None:
    # A view is not a table, so the database looks empty; creating the last ledger
    # table then fails, well after the first tables were created.
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE VIEW equivocations AS SELECT 1 AS one"))
    engine.dispose()
    with pytest.raises(StoreError):
        upgrade(fresh_url)
    assert _tables(fresh_url) == set()
    assert current_revision(fresh_url) is None


def test_checking_never_creates_a_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing.db'}"
    with pytest.raises(DatabaseUnreachableError, match="no such database file"):
        check_schema(url)
    with pytest.raises(DatabaseUnreachableError):
        current_revision(url)
    assert not (tmp_path / "missing.db").exists()


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds(fresh_url: str) -> None:
    upgrade(fresh_url)
    assert downgrade(fresh_url, "base") is None
    assert _tables(fresh_url) <= {"alembic_version"}
    assert upgrade(fresh_url) == head_revision()


def test_migrations_ship_inside_the_package() -> None:
    package = resources.files("node.store.migrations")
    assert package.joinpath("env.py").is_file()
    assert package.joinpath("script.py.mako").is_file()
    assert package.joinpath("versions", "__init__.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert head_revision() in known_revisions()
