"""The other classes: received hits go by the agreement's rule at the requester, query
records go by their age, a peer's copy of an expired index cannot be evaluated, video is
not stored, and the settings the node applies are declared on its ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from accord.cli import app as cli
from crypto.entries import decode_entry
from node.app import NodeApp
from node.ids import AgreementId
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
    PeerIndexEpochRow,
    PeerIndexKeyRow,
    PeerIndexLabelRow,
    QueryUsageRow,
    ReadRow,
    SeenRequestRow,
)
from node.store.peers import PeerRepository
from tests.support.cli import accord
from tests.support.federation import NodeSpec, add_reads, agree, federation

PLATES = ["7QRS482", "8ABC123"]
SPECS = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]


def _purger(app: NodeApp, days: float) -> Purger:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return Purger(
        sessions=app.sessions,
        engine=app.engine,
        ledger=app.ledger,
        recorder=app.recorder,
        settings=lambda: load_settings(app.config.home),
        clock=lambda: later,
    )


def _count(app: NodeApp, model: type[object]) -> int:
    with session_scope(app.sessions) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _entries(app: NodeApp, entry_type: str) -> list[dict[str, object]]:
    with session_scope(app.sessions) as s:
        repo = LedgerRepository(s)
        size = repo.size(app.ledger.log_id)
        entries = [decode_entry(e.entry) for e in repo.entries(app.ledger.log_id, 0, size)]
    return [dict(e.fields) for e in entries if e.type == entry_type]


def _on_disk(app: NodeApp) -> bytes:
    path = sqlite_path(app.engine.url)
    assert path is not None
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def _replicated(smpd: NodeApp, ccpd: NodeApp, **terms: object) -> AgreementId:
    """ccpd holds reads of today, indexed for an agreement; smpd holds the replica."""
    for app in (smpd, ccpd):
        # The start's own purge waits on the lock behind the first run; the second waits
        # for it, so no purge with the real clock runs during the test.
        await app.retention.run_once()
        await app.retention.run_once()
    add_reads(ccpd, PLATES, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    agreement = await agree(smpd, ccpd, **terms)
    await ccpd.indexer.run_once()
    with session_scope(smpd.sessions) as s:
        peer = next(p for p in PeerRepository(s).all() if p.name == "culver-city-pd")
    await smpd.queries.sync_index(peer, agreement)
    assert _count(smpd, PeerIndexKeyRow) > 0
    return agreement


async def _ask(smpd: NodeApp) -> tuple[int, str]:
    """Hits for PLATES from culver-city-pd, and how its answer came back."""
    outcome = await smpd.queries.query_hits(
        peers=["culver-city-pd"],
        plates=PLATES,
        purpose="stolen-vehicle",
        case_number="24-00123",
        days=7,
        user="officer-17",
    )
    (answer,) = outcome.answers
    return len(outcome.hits), answer.outcome


async def test_received_hits_go_at_the_requester_by_the_agreements_retention_days(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path, SPECS) as (smpd, ccpd):
        await _replicated(smpd, ccpd, retention_days=2)
        epoch = day_epoch(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        with session_scope(smpd.sessions) as s:
            label = s.scalars(select(PeerIndexLabelRow.label)).first()
        assert label is not None
        # Within the agreement's two days nothing goes.
        early = await _purger(smpd, 1).run_once()
        assert not [p for p in early if p.data_class is DataClass.RECEIVED_HITS]
        # Past them (and well inside smpd's own 30 days for reads), a crash at every step
        # still ends with the replica gone and exactly one entry.
        for step in ("intent", "deleted", "appended"):
            crashing = _purger(smpd, 3)

            def crash(name: str, step: str = step) -> None:
                if name == step:
                    raise PurgeInterruptedError(f"simulated crash after {name}")

            crashing.failure_hook = crash
            with pytest.raises(PurgeInterruptedError):
                await crashing.run_once()
        await _purger(smpd, 3).run_once()
        assert _count(smpd, PeerIndexKeyRow) == 0
        assert _count(smpd, PeerIndexLabelRow) == 0
        assert _count(smpd, PeerIndexEpochRow) == 0
        assert label not in _on_disk(smpd)
        logged = [
            e
            for e in _entries(smpd, "retention.deleted")
            if e["data_class"] == "received_hits" and e["epoch"] == epoch
        ]
        assert len(logged) == 1
        counts = logged[0]["counts"]
        assert isinstance(counts, dict) and counts["replica_entries"] > 0
        # The responder's own index follows its own rules, not the requester's.
        assert _count(ccpd, IndexEntryRow) > 0


async def test_after_expiry_a_peers_copy_of_the_index_cannot_be_evaluated(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path, SPECS) as (smpd, ccpd):
        agreement = await _replicated(smpd, ccpd)
        epoch = day_epoch(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        assert await _ask(smpd) == (2, "answered")
        with session_scope(ccpd.sessions) as s:
            oprf = OprfKeyRepository(s).get(agreement, epoch)
            data = DataEpochRepository(s).get(DataClass.READS, epoch)
            sealed = s.scalars(select(ReadRow.plate_ciphertext)).first()
        assert oprf is not None and oprf.secret is not None
        assert data is not None and data.key is not None and sealed is not None

        await _purger(ccpd, 32).run_once()
        on_disk = _on_disk(ccpd)
        assert oprf.secret not in on_disk
        assert data.key not in on_disk
        assert sealed not in on_disk
        # smpd still holds the replica of that day, but no one can evaluate it any more:
        # the peer answers without an evaluation of any expired day, so nothing matches.
        assert _count(smpd, PeerIndexKeyRow) > 0
        hits, _ = await _ask(smpd)
        assert hits == 0
        answered = _entries(ccpd, "answer.sent")
        assert len(answered) == 2
        assert isinstance(answered[0]["epochs"], int) and answered[0]["epochs"] > 0
        assert answered[-1]["epochs"] == 0


async def test_query_records_go_by_their_age(tmp_path: Path) -> None:
    async with federation(tmp_path, SPECS) as (smpd, ccpd):
        await _replicated(smpd, ccpd)
        assert await _ask(smpd) == (2, "answered")
        assert _count(ccpd, QueryUsageRow) == 1
        assert _count(ccpd, SeenRequestRow) == 1
        today = day_epoch(dt.datetime.now(dt.UTC))
        inside = await _purger(ccpd, 364).run_once()
        assert not [p for p in inside if p.data_class is DataClass.QUERY_RECORDS]
        done = await _purger(ccpd, 367).run_once()
        records = [p for p in done if p.data_class is DataClass.QUERY_RECORDS]
        assert [(p.epoch, dict(p.counts)) for p in records] == [
            (today, {"data_keys": 0, "query_usage": 1, "seen_requests": 1})
        ]
        assert _count(ccpd, QueryUsageRow) == 0
        assert _count(ccpd, SeenRequestRow) == 0
        assert not [p for p in done if p.data_class is DataClass.VIDEO]


async def test_the_settings_the_node_applies_are_declared_on_its_ledger(tmp_path: Path) -> None:
    async with federation(tmp_path, SPECS[:1]) as (smpd,):
        await smpd.retention.run_once()
        await smpd.retention.run_once()  # and the start's own, queued behind the first
        declared = [e for e in _entries(smpd, "admin.action") if e["action"] == "retention.set"]
        assert [e["detail"] for e in declared] == [
            "retention.set jurisdiction=US-CA reads=30 held_reads=365 crops=30 video=7 "
            "hotlists=0 query_records=365 received_hits=90"
        ]
        home = str(smpd.config.home)
        changed = CliRunner().invoke(
            cli, ["node", "retention", "set", "--dir", home, "--class", "reads", "--days", "14"]
        )
        assert changed.exit_code == 0, changed.output
        await smpd.retention.run_once()
        await smpd.retention.run_once()
        declared = [e for e in _entries(smpd, "admin.action") if e["action"] == "retention.set"]
        assert len(declared) == 2
        assert str(declared[1]["detail"]).startswith("retention.set jurisdiction=US-CA reads=14 ")


def test_bad_settings_are_refused_in_one_line_and_change_nothing(tmp_path: Path) -> None:
    from node.home import init_node_home

    home = tmp_path / "nh"
    init_node_home(
        home,
        name="manchester-pd",
        ori="NH0060100",
        jurisdiction="US-NH",
        kind="municipal",
        now=dt.datetime.now(dt.UTC),
    )
    before = (home / "accord.toml").read_bytes()
    runner = CliRunner()
    base = ["node", "retention", "set", "--dir", str(home)]
    unknown = runner.invoke(cli, [*base, "--class", "plates", "--days", "1"])
    assert unknown.exit_code == 2 and "plates" in unknown.output
    too_long = runner.invoke(cli, [*base, "--class", "held_reads", "--days", "99999"])
    assert too_long.exit_code == 1 and "0..3650" in too_long.output
    over_cap = runner.invoke(cli, [*base, "--class", "reads", "--days", "1"])
    assert over_cap.exit_code == 1 and "261:75-b" in over_cap.output
    assert (home / "accord.toml").read_bytes() == before
    shown = accord("node", "retention", "show", "--dir", str(home))
    assert shown.returncode == 0, shown.stderr
    assert "(not stored)" in next(line for line in shown.stdout.splitlines() if "video" in line)
    assert "3 minutes" in shown.stdout
