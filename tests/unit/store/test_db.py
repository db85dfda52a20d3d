"""Engines, URLs, connection settings, UTC timestamps and the translation of driver errors."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from node.ids import CameraId
from node.store.cameras import CameraRepository
from node.store.db import (
    create_engine,
    parse_url,
    redact,
    session_factory,
    session_scope,
    truncate_wal,
)
from node.store.errors import (
    DatabaseUnreachableError,
    DuplicateError,
    InvalidDatabaseUrlError,
    StoreError,
)
from node.store.models import CameraRow
from tests.unit.store import _builders as b
from tests.unit.store.conftest import NOW


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_postgres_names_the_url_without_its_password() -> None:
    port = _closed_port()
    url = f"postgresql+psycopg://accord:s3cret-pw@127.0.0.1:{port}/accord?connect_timeout=3"
    with pytest.raises(DatabaseUnreachableError) as caught:
        create_engine(url)
    message = str(caught.value)
    assert f"127.0.0.1:{port}/accord" in message
    assert "s3cret-pw" not in message
    assert "***" in message
    assert caught.value.__cause__ is not None  # the driver error is chained


def test_sqlite_in_a_missing_directory_is_unreachable(tmp_path: Path) -> None:
    path = tmp_path / "no-such-dir" / "accord.db"
    with pytest.raises(DatabaseUnreachableError, match="no-such-dir"):
        create_engine(f"sqlite:///{path}")


@pytest.mark.parametrize(
    "url", ["not a url", "mysql+pymysql://u:pw@localhost/db", "postgresql+psycopg2://h/db"]
)
def test_unsupported_or_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidDatabaseUrlError) as caught:
        create_engine(url)
    assert ":pw@" not in str(caught.value)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_plain_postgres_urls_mean_psycopg_3(scheme: str) -> None:
    assert parse_url(f"{scheme}://u@h/db").drivername == "postgresql+psycopg"


def test_redact_hides_passwords_even_in_unparseable_text() -> None:
    assert redact("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert "pw" not in redact("weird://u:pw@h:notaport/db")


def test_sqlite_connections_get_accords_settings(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert (tmp_path / "a.db").stat().st_mode & 0o777 == 0o600  # it will hold data keys
    try:
        with engine.connect() as conn:

            def pragma(name: str) -> object:
                return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 10_000
            assert pragma("synchronous") == 2  # FULL
            assert pragma("secure_delete") == 1
            assert pragma("recursive_triggers") == 1
        truncate_wal(engine)
    finally:
        engine.dispose()


def test_utc_timestamps_round_trip_aware(session: Session) -> None:
    local = dt.timezone(dt.timedelta(hours=-8))
    repo = CameraRepository(session)
    repo.add(b.camera("cam-a", created=NOW.astimezone(local)))
    session.expire_all()
    stored = repo.get(CameraId("cam-a"))
    assert stored is not None
    assert stored.created == NOW
    assert stored.created.utcoffset() == dt.timedelta(0)


def test_naive_timestamps_are_refused(session: Session) -> None:
    session.add(
        CameraRow(
            id="cam-n", name="n", lat=0.0, lon=0.0, heading=None, created=dt.datetime(2025, 1, 1)
        )
    )
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_session_scope_commits_and_wraps_driver_errors(engine: Engine) -> None:
    sessions = session_factory(engine)
    camera_id = "cam-scope-test"
    try:
        with session_scope(sessions) as s:
            CameraRepository(s).add(b.camera(camera_id))
        with session_scope(sessions) as s:
            assert CameraRepository(s).get(CameraId(camera_id)) is not None
        with pytest.raises(DuplicateError), session_scope(sessions) as s:
            s.add(CameraRow(id=camera_id, name="x", lat=0.0, lon=0.0, heading=None, created=NOW))
    finally:
        with session_scope(sessions) as s:
            s.execute(text("DELETE FROM cameras WHERE id = :id"), {"id": camera_id})


def test_store_errors_are_node_errors() -> None:
    from node.errors import NodeError

    assert issubclass(StoreError, NodeError)
