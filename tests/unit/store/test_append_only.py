"""The ledger tables refuse UPDATE and DELETE in the database itself, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from node.ids import LogId
from node.store.db import translate_errors
from node.store.errors import AppendOnlyViolationError
from node.store.ledger import LedgerEntry, LedgerRepository, TreeNode
from node.store.models import APPEND_ONLY_TABLES, LedgerEntryRow
from node.store.witness import WitnessRepository
from tests.unit.store.conftest import NOW

LOG = LogId("accord.example/santa-monica-pd/2025")
#: One column of each table to try to change.
COLUMN = {
    "ledger_entries": "entry",
    "ledger_tree_nodes": "hash",
    "checkpoints": "note",
    "cosignatures": "line",
    "equivocations": "reason",
}


@pytest.fixture
def ledger(session: Session) -> Session:
    """One row in every append-only table."""
    repo = LedgerRepository(session)
    repo.append([LedgerEntry(LOG, i, b"entry-%d" % i, bytes([i]) * 32, NOW) for i in range(2)])
    repo.put_tree_nodes(LOG, [TreeNode(1, 0, b"\x07" * 32)])
    checkpoint = repo.add_checkpoint(LOG, size=2, root=b"\x07" * 32, note=b"note", time=NOW)
    repo.add_cosignature(
        checkpoint.id, witness_name="w.example", key_id=b"abcd", line="\u2014 w.example x", time=NOW
    )
    WitnessRepository(session).add_equivocation(
        "peer.example/log",
        reason="same size, different roots",
        note_a=b"a",
        note_b=b"b",
        detected=NOW,
    )
    return session


def _refused(session: Session, sql: str) -> AppendOnlyViolationError:
    with (
        pytest.raises(AppendOnlyViolationError) as caught,
        translate_errors(session),
        session.begin_nested(),
    ):
        session.execute(text(sql))
    return caught.value


def test_every_ledger_table_is_covered() -> None:
    assert set(COLUMN) == set(APPEND_ONLY_TABLES)


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_update_is_refused(ledger: Session, table: str) -> None:
    column = COLUMN[table]
    error = _refused(ledger, f"UPDATE {table} SET {column} = {column}")
    assert error.table == table
    assert "append-only" in str(error)


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_delete_is_refused(ledger: Session, table: str) -> None:
    _refused(ledger, f"DELETE FROM {table}")
    count = ledger.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    assert count is not None
    assert count >= 1


def test_truncate_or_replace_is_refused(ledger: Session) -> None:
    if ledger.get_bind().dialect.name == "postgresql":
        _refused(ledger, "TRUNCATE ledger_entries")
        _refused(
            ledger,
            "INSERT INTO ledger_entries (log_id, idx, entry, leaf_hash, time) "
            "SELECT log_id, idx, entry, leaf_hash, time FROM ledger_entries "
            "ON CONFLICT (log_id, idx) DO UPDATE SET entry = excluded.entry",
        )
    else:
        # REPLACE deletes the clashing row first: the delete trigger must still fire.
        _refused(
            ledger,
            "INSERT OR REPLACE INTO ledger_entries (log_id, idx, entry, leaf_hash, time) "
            "SELECT log_id, idx, X'00', leaf_hash, time FROM ledger_entries",
        )
    entries = LedgerRepository(ledger).entries(LOG, 0, 10)
    assert [e.entry for e in entries] == [b"entry-0", b"entry-1"]


def test_orm_changes_are_refused_too(ledger: Session) -> None:
    row = ledger.get(LedgerEntryRow, (LOG, 0))
    assert row is not None
    savepoint = ledger.begin_nested()
    row.entry = b"rewritten history"
    with pytest.raises(AppendOnlyViolationError), translate_errors(ledger):
        ledger.flush()
    savepoint.rollback()


def test_appending_is_allowed(ledger: Session) -> None:
    repo = LedgerRepository(ledger)
    assert repo.append([LedgerEntry(LOG, 2, b"entry-2", b"\x02" * 32, NOW)]) == 3
