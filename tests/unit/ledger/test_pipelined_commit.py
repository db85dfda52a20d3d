"""The sequencer prepares the next batch while one commits; a failed commit loses only
its own entries, and the tree stays exactly what the database holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crypto.merkle import leaf_hash, root_of
from node.ids import LogId
from node.ledger.log import LedgerLog
from node.store.db import create_engine, session_factory, session_scope
from node.store.ledger import LedgerRepository
from node.store.migrate import upgrade

LOG = LogId("accord/test/ledger")


async def test_a_failed_batch_fails_alone_and_the_tree_matches_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    upgrade(url)
    sessions = session_factory(create_engine(url))
    log = LedgerLog(sessions, LOG, batch_size=10, max_delay_s=0.001)
    await log.open()
    real_commit = log._commit
    calls = 0

    def flaky(rows: list, nodes: list) -> None:  # type: ignore[type-arg]
        nonlocal calls
        calls += 1
        if calls == 2:  # the second batch's transaction fails
            raise RuntimeError("disk full")
        real_commit(rows, nodes)

    log._commit = flaky  # type: ignore[method-assign]
    results = await asyncio.gather(
        *(log.append(f'{{"n":{i}}}'.encode()) for i in range(50)), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(failed) == 10 and all("disk full" in str(e) for e in failed)
    indexes = sorted(r for r in results if isinstance(r, int))
    assert indexes == list(range(40))  # no gap: the batches after the failure were redone
    with session_scope(sessions) as s:
        stored = LedgerRepository(s).entries(LOG, 0, 40)
    assert log.head.size == 40
    assert log.head.root == root_of([leaf_hash(e.entry) for e in stored])
    assert log.inclusion_proof(39, 40)  # the stored tree nodes agree with the entries
    await log.close()


async def test_appends_after_close_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    upgrade(url)
    log = LedgerLog(session_factory(create_engine(url)), LOG)
    await log.open()
    await log.close()
    with pytest.raises(Exception, match="not open"):
        await log.append(b"x")
