"""Expiry: nothing of an expired epoch survives, peers cannot evaluate it, and a purge
stopped part-way finishes with exactly one ``retention.deleted``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from accord.cli import app as cli
from crypto.entries import decode_entry
from node.app import NodeApp
from node.retention.errors import PurgeInterruptedError
from node.retention.purge import Purger
from node.retention.settings import load_settings
from node.sealed_reads import day_epoch
from node.store.agreements import OprfKeyRepository
from node.store.db import session_scope, sqlite_path
from node.store.epochs import DataClass, DataEpochRepository
from node.store.ledger import LedgerRepository
from node.store.models import (
    IndexEntryRow,
    IndexEpochRow,
    IndexOccurrenceRow,
    PeerIndexEpochRow,
    PeerIndexKeyRow,
    PeerIndexLabelRow,
    ReadCropRow,
    ReadRow,
)
from node.store.peers import PeerRepository
from tests.support.federation import NodeSpec, add_reads, agree, federation

PLATES = ["7QRS482", "8ABC123"]


def _count(app: NodeApp, model: type[object]) -> int:
    with session_scope(app.sessions) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _retention_entries(app: NodeApp) -> list[dict[str, object]]:
    with session_scope(app.sessions) as s:
        repo = LedgerRepository(s)
        size = repo.size(app.ledger.log_id)
        entries = [decode_entry(e.entry) for e in repo.entries(app.ledger.log_id, 0, size)]
    return [dict(e.fields) for e in entries if e.type == "retention.deleted"]


def _crash_at(step: str):  # type: ignore[no-untyped-def]
    def hook(name: str) -> None:
        if name == step:
            raise PurgeInterruptedError(f"simulated crash after {name}")

    return hook


async def test_expiry_removes_the_epoch_everywhere_and_resumes_after_a_crash(
    tmp_path: Path,
) -> None:
    specs = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
    async with federation(tmp_path, specs) as (smpd, ccpd):
        read_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        add_reads(ccpd, PLATES, at=read_at)
        agreement = await agree(smpd, ccpd)
        await ccpd.indexer.run_once()
        with session_scope(smpd.sessions) as s:
            peer = next(p for p in PeerRepository(s).all() if p.name == "culver-city-pd")
        await smpd.queries.sync_index(peer, agreement)
        epoch = day_epoch(read_at)
        assert _count(ccpd, IndexEntryRow) > 0
        assert _count(smpd, PeerIndexKeyRow) > 0
        with session_scope(ccpd.sessions) as s:
            sealed = s.scalars(select(ReadRow.plate_ciphertext)).first()
        assert sealed is not None

        def purger(app: NodeApp) -> Purger:
            later = dt.datetime.now(dt.UTC) + dt.timedelta(days=32)
            return Purger(
                sessions=app.sessions,
                engine=app.engine,
                ledger=app.ledger,
                recorder=app.recorder,
                settings=lambda: load_settings(app.config.home),
                clock=lambda: later,
            )

        for step in ("intent", "deleted", "appended"):
            crashing = purger(ccpd)
            crashing.failure_hook = _crash_at(step)
            with pytest.raises(PurgeInterruptedError):
                await crashing.run_once()
            # Only one class is touched per crash: finish them all, one crash per step.
        await purger(ccpd).run_once()
        await purger(smpd).run_once()

        # Rows gone, keys NULL.
        assert _count(ccpd, ReadRow) == 0
        assert _count(ccpd, ReadCropRow) == 0
        assert _count(ccpd, IndexEntryRow) == 0
        assert _count(ccpd, IndexEpochRow) == 0
        assert _count(ccpd, IndexOccurrenceRow) == 0
        assert _count(smpd, PeerIndexKeyRow) == 0
        assert _count(smpd, PeerIndexLabelRow) == 0
        assert _count(smpd, PeerIndexEpochRow) == 0
        with session_scope(ccpd.sessions) as s:
            assert DataEpochRepository(s).get(DataClass.READS, epoch).key is None  # type: ignore[union-attr]
            key = OprfKeyRepository(s).get(agreement, epoch)
            assert key is not None
            assert key.secret is None
        # The database file (WAL folded in and truncated) no longer holds the ciphertext.
        path = sqlite_path(ccpd.engine.url)
        assert path is not None
        assert sealed not in path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0 or sealed not in wal.read_bytes()

        # Exactly one retention.deleted per (class, epoch), none naming a plate.
        entries = _retention_entries(ccpd)
        keys = [(e["data_class"], e["epoch"]) for e in entries]
        assert len(keys) == len(set(keys))
        reads = [e for e in entries if e["data_class"] == "reads" and e["epoch"] == epoch]
        assert len(reads) == 1
        counts = reads[0]["counts"]
        assert isinstance(counts, dict)
        assert counts["reads"] == len(PLATES)
        assert counts["oprf_keys"] == 1
        assert counts["index_entries"] > 0
        text = repr(entries)
        assert all(p not in text for p in PLATES)
        # Running again logs nothing more.
        assert await purger(ccpd).run_once() == []


def test_cli_show_and_set_respect_the_cap(tmp_path: Path) -> None:
    from node.home import init_node_home

    home = tmp_path / "me"
    init_node_home(
        home,
        name="portland-pd",
        ori="ME0030300",
        jurisdiction="US-ME",
        kind="municipal",
        now=dt.datetime.now(dt.UTC),
    )
    runner = CliRunner()
    refused = runner.invoke(
        cli, ["node", "retention", "set", "--dir", str(home), "--class", "reads", "--days", "30"]
    )
    assert refused.exit_code == 1
    assert "2117-A" in refused.output
    ok = runner.invoke(
        cli, ["node", "retention", "set", "--dir", str(home), "--class", "reads", "--days", "14"]
    )
    assert ok.exit_code == 0, ok.output
    assert load_settings(home).days == {DataClass.READS: 14}
    shown = runner.invoke(cli, ["node", "retention", "show", "--dir", str(home)])
    assert shown.exit_code == 0
    assert "14 days" in shown.output
    purge = runner.invoke(cli, ["node", "retention", "purge", "--dir", str(home)])
    assert "every hour" in purge.output
