"""Database fixtures shared by the store tests, parametrised over both backends.

- ``sqlite``: a file in a temporary directory; always runs.
- ``postgresql``: runs when ``ACCORD_TEST_POSTGRES_URL`` names a server, e.g.
  ``postgresql+psycopg://postgres@127.0.0.1:5432/test``. Each test run works in schemas of
  its own (created here, dropped at the end), so concurrent runs on one server do not
  clash. Without the variable these tests are skipped with a visible reason, unless
  ``ACCORD_REQUIRE_POSTGRES=1``: then they fail (CI sets both).

``session`` is a session inside a transaction that is rolled back after the test, on one
database migrated once per backend; ``fresh_url`` gives an empty database for tests of
migrations themselves.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from node.store.db import create_engine
from node.store.migrate import upgrade

POSTGRES_URL_ENV = "ACCORD_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "ACCORD_REQUIRE_POSTGRES"
BACKENDS = ("sqlite", "postgresql")

#: A fixed, timezone-aware "now" for deterministic tests.
NOW = dt.datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=dt.UTC)


class Backend:
    """Makes empty databases of one kind and cleans them up at the end of the run."""

    def __init__(self, name: str, make: Callable[[], str]) -> None:
        self.name = name
        self._make = make

    def fresh_url(self) -> str:
        """The URL of a new, empty database."""
        return self._make()


def _postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if url:
        return url
    reason = f"PostgreSQL store tests need {POSTGRES_URL_ENV} (e.g. postgresql+psycopg://...)"
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{REQUIRE_POSTGRES_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "sqlite":
        counter = iter(range(1_000_000))

        def sqlite_url() -> str:
            directory: Path = tmp_path_factory.mktemp("db")
            return f"sqlite:///{directory / f'accord-{next(counter)}.db'}"

        yield Backend("sqlite", sqlite_url)
        return

    base = _postgres_base_url()
    admin = create_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    run = uuid.uuid4().hex[:10]
    schemas: list[str] = []

    def postgres_url() -> str:
        schema = f"accord_test_{run}_{len(schemas)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    try:
        yield Backend("postgresql", postgres_url)
    finally:
        with admin.connect() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fresh_url(backend: Backend) -> str:
    """An empty database of the current backend."""
    return backend.fresh_url()


@pytest.fixture(scope="session")
def engine(backend: Backend) -> Iterator[Engine]:
    """One database per backend, migrated to the newest schema once per run."""
    url = backend.fresh_url()
    upgrade(url)
    engine = create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test.

    Commits inside the test release savepoints only, so repositories and
    ``session.begin_nested()`` behave as in production without leaving rows behind.
    """
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()
