"""``accord audit check`` on the ledgers of a real federation: silent when clean, and finding
each planted violation, alone, by its code.

Two California nodes (real gRPC, mutual TLS, SQLite) agree, query each other, refuse a query
outside the agreement, and export their ledgers as tiles (as ``accord demo`` does) and the
agreement with ``accord agreement export``. Violations are planted with the nodes' own ledger
code (:class:`~node.ledger.recorder.Recorder` on the node's log): properly signed entries
that verify like any other, so only the compliance rules can catch them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from accord.legal.signed_agreement import encode_signed_agreement
from crypto import sign as ed25519
from crypto.canonical_json import dumps
from crypto.entries import decode_entry
from crypto.keys import KeyKind, encode_public
from node.app import NodeApp
from node.ledger.export import export_tiles
from node.ledger.recorder import Recorder
from node.store.db import session_scope
from node.store.ledger import LedgerRepository
from tests.support.cli import accord
from tests.support.federation import NodeSpec, add_reads, agree, federation

AGREEMENT_ID = "smpd-ccpd-2026"
DAY = dt.timedelta(days=1)


@dataclass
class Federation:
    base: Path
    smpd: NodeApp
    ccpd: NodeApp
    agreement_file: Path

    def recorder(self, app: NodeApp, at: dt.datetime) -> Recorder:
        """The node's own ledger code, writing at ``at`` (its clock, for the planted entry)."""
        return Recorder(
            app.ledger, node_name=app.config.name, actor_key=app.keys.actor, clock=lambda: at
        )

    async def exchange(
        self, at: dt.datetime, *, skew: dt.timedelta = dt.timedelta(0), **changes: Any
    ) -> str:
        """One allowed query and its answer, on both ledgers, as the nodes record them."""
        request_id = hashlib.sha256(f"{at.isoformat()}{changes}".encode()).hexdigest()[:32]
        fields: dict[str, Any] = {
            "request_id": request_id,
            "agreement_id": AGREEMENT_ID,
            "agreement_hash": self.agreement_hash,
            "purpose": "stolen-vehicle",
            "case_commit": hashlib.sha256(b"case" + request_id.encode()).hexdigest(),
            "actor": self.smpd.recorder.actor("officer-17"),
            "window_days": 7,
            "batch_size": 1,
            "q_commit": hashlib.sha256(b"q" + request_id.encode()).hexdigest(),
        }
        fields.update(changes)
        answer = {"request_id": request_id, "q_commit": fields["q_commit"]}
        smpd, ccpd = self.smpd.config.name, self.ccpd.config.name
        await self.recorder(self.smpd, at).record("query.sent", peer=ccpd, **fields)
        at_b = at + skew
        await self.recorder(self.ccpd, at_b).record(
            "query.received",
            peer=smpd,
            **fields,
            decision="allow",
            rule_ids=["baseline-honour-query"],
        )
        await self.recorder(self.ccpd, at_b + dt.timedelta(milliseconds=5)).record(
            "answer.sent", peer=smpd, evaluated=1, epochs=7, **answer
        )
        await self.recorder(self.smpd, at + dt.timedelta(milliseconds=10)).record(
            "answer.received", peer=ccpd, hits=0, receipt_index=1, **answer
        )
        return request_id

    @property
    def agreement_hash(self) -> str:
        return str(json.loads(self.agreement_file.read_bytes())["agreement_sha256"])

    async def export(self, name: str = "exports") -> Path:
        """Sign a checkpoint and export every ledger as ``<out>/<node>/ledger`` + vkey."""
        out = self.base / name
        for app in (self.smpd, self.ccpd):
            await asyncio.to_thread(app.publisher.sign)
            target = out / app.config.name
            await asyncio.to_thread(
                export_tiles, app.ledger, app.publisher, app.sessions, target / "ledger"
            )
            (target / "ledger.vkey").write_text(app.publisher.signer.verifier.vkey() + "\n")
        return out


def check(
    exports: Path, *agreements: Path, profile: str = "us-ca-sb34"
) -> tuple[int, list[dict[str, Any]]]:
    args = ["audit", "check", "--ledgers", str(exports), "--profile", profile, "--json"]
    for a in agreements:
        args += ["--agreements", str(a)]
    result = accord(*args, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["format"] == "accord/audit-check/v1"
    return result.returncode, report["findings"]


def codes(findings: list[dict[str, Any]]) -> set[str]:
    return {f["code"] for f in findings}


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    specs = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
    async with federation(tmp_path / "nodes", specs) as (smpd, ccpd):
        now = dt.datetime.now(dt.UTC)
        add_reads(ccpd, ["7QRS482", "8ABC123"], at=now - dt.timedelta(minutes=30))
        await agree(smpd, ccpd)
        await ccpd.indexer.run_once()
        ask: dict[str, Any] = {
            "peers": ["culver-city-pd"],
            "case_number": "24-00123",
            "user": "officer-17",
        }
        for plates in (["7QRS482"], ["4NOPE00", "8ABC123"]):
            outcome = await smpd.queries.query_hits(
                plates=plates, purpose="stolen-vehicle", days=7, **ask
            )
            assert outcome.answers[0].outcome == "answered"
        refused = await smpd.queries.query_hits(
            plates=["7QRS482"], purpose="immigration", days=7, **ask
        )
        assert refused.answers[0].outcome == "refused"
        agreement_file = tmp_path / "agreement.json"
        result = await asyncio.to_thread(
            accord,
            "agreement",
            "export",
            AGREEMENT_ID,
            "--dir",
            str(tmp_path / "nodes" / "santa-monica-pd"),
            "--out",
            str(agreement_file),
        )
        assert result.returncode == 0, result.stderr
        yield Federation(tmp_path, smpd, ccpd, agreement_file)


async def test_clean_ledgers_have_no_finding_and_bad_input_is_reported(
    fed: Federation, tmp_path: Path
) -> None:
    exports = await fed.export()
    rc, findings = check(exports, fed.agreement_file)
    assert (rc, findings) == (0, [])
    human = accord(
        "audit",
        "check",
        "--ledgers",
        str(exports),
        "--agreements",
        str(fed.agreement_file),
        "--profile",
        "us-ca-sb34",
    )
    assert human.returncode == 0 and "no finding" in human.stdout
    # The export of the agreement is the document both ledgers record.
    assert json.loads(fed.agreement_file.read_bytes())["signatures"][1]["role"] == "responder"
    again = accord(
        "agreement",
        "export",
        AGREEMENT_ID,
        "--dir",
        str(tmp_path / "nodes" / "santa-monica-pd"),
        "--out",
        str(fed.agreement_file),
    )
    assert again.returncode == 1 and "exists" in again.stderr
    unknown = accord(
        "agreement",
        "export",
        "no-such-agreement",
        "--dir",
        str(tmp_path / "nodes" / "santa-monica-pd"),
        "--out",
        str(tmp_path / "none.json"),
    )
    assert unknown.returncode == 1 and "no agreement no-such-agreement" in unknown.stderr
    assert not (tmp_path / "none.json").exists()

    # A missing agreement document is a finding, and so is an unknown profile.
    rc, findings = check(exports)
    assert rc == 1 and codes(findings) == {"agreement.missing"}
    rc, findings = check(exports, fed.agreement_file, profile="us-tx-anything")
    assert rc == 1 and codes(findings) == {"profile.unknown"}

    # A ledger that fails verification is reported and left out of every other check.
    broken = tmp_path / "broken"
    shutil.copytree(exports, broken)
    entries_dir = broken / "culver-city-pd" / "ledger" / "tile" / "entries"
    bundle = sorted(p for p in entries_dir.rglob("*") if p.is_file())[0]
    data = bytearray(bundle.read_bytes())
    data[-3] ^= 0x01
    bundle.write_bytes(bytes(data))
    rc, findings = check(broken, fed.agreement_file)
    assert rc == 1 and codes(findings) == {"ledger.unverified"}
    assert findings[0]["nodes"] == ["culver-city-pd"]

    # Input the check cannot read: exit 2 with one line.
    for args in (
        ["--ledgers", str(tmp_path / "nowhere")],
        ["--ledgers", str(exports), "--agreements", str(tmp_path / "absent.json")],
    ):
        bad = accord("audit", "check", *args, "--profile", "us-ca-sb34")
        assert bad.returncode == 2, bad.stdout + bad.stderr
        assert bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1


async def test_answered_with_a_purpose_outside_the_agreement(fed: Federation) -> None:
    await fed.exchange(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), purpose="arson")
    rc, findings = check(await fed.export(), fed.agreement_file)
    assert rc == 1 and codes(findings) == {"query.purpose_outside_agreement"}
    (f,) = findings
    assert f["severity"] == "high" and set(f["nodes"]) == {"santa-monica-pd", "culver-city-pd"}
    assert "arson" in f["message"] and len(f["entries"]) == 4


async def test_query_sent_without_counterpart(fed: Federation) -> None:
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    fields = {
        "request_id": "lost-1",
        "agreement_id": AGREEMENT_ID,
        "agreement_hash": fed.agreement_hash,
        "purpose": "stolen-vehicle",
        "case_commit": "c" * 64,
        "actor": "a" * 64,
        "window_days": 7,
        "batch_size": 1,
        "q_commit": "d" * 64,
    }
    index = await fed.recorder(fed.smpd, at).record("query.sent", peer="culver-city-pd", **fields)
    rc, findings = check(await fed.export(), fed.agreement_file)
    assert rc == 1 and codes(findings) == {"exchange.unpaired"}
    assert findings[0]["entries"] == [{"node": "santa-monica-pd", "index": index}]


async def test_a_day_with_fifty_times_the_usual_volume(fed: Federation) -> None:
    start = dt.datetime.now(dt.UTC) + DAY
    for day in range(5):
        await fed.exchange(start + day * DAY)
    for i in range(50):
        await fed.exchange(start + 5 * DAY + i * dt.timedelta(seconds=2))
    rc, findings = check(await fed.export(), fed.agreement_file)
    # One planted surge: the officer's and, through them, the agency's.
    assert rc == 1 and codes(findings) == {"volume.actor_above_usual", "volume.agency_above_usual"}
    assert all("made 50 queries" in f["message"] for f in findings)


async def test_an_old_epoch_never_deleted(fed: Federation) -> None:
    # The deadline comes from the settings the node itself declared when it started.
    with session_scope(fed.ccpd.sessions) as s:
        repo = LedgerRepository(s)
        rows = repo.entries(fed.ccpd.ledger.log_id, 0, repo.size(fed.ccpd.ledger.log_id))
    declared = [
        e.fields["detail"]
        for e in map(decode_entry, (r.entry for r in rows))
        if e.type == "admin.action" and e.fields["action"] == "retention.set"
    ]
    assert len(declared) == 1 and " reads=30 " in declared[0], declared
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    old_epoch = int(at.timestamp()) // 86400 - 45
    await fed.recorder(fed.ccpd, at).record(
        "key.rotated",
        key="voprf-ristretto255-sha512",
        scope=f"{AGREEMENT_ID}:{old_epoch}",
        public_key_sha256="e" * 64,
    )
    rc, findings = check(await fed.export(), fed.agreement_file)
    assert rc == 1 and codes(findings) == {"retention.deadline_missed"}
    assert f"epoch {old_epoch}" in findings[0]["message"]


async def test_an_agreement_with_a_federal_party_under_sb34(
    fed: Federation, tmp_path: Path
) -> None:
    real = json.loads(fed.agreement_file.read_bytes())["agreement"]
    federal_key = SigningKey(hashlib.sha256(b"federal").digest())
    terms = {
        **real,
        "id": "fbi-ccpd-2026",
        "requester": {
            "node_id": "fbi-la",
            "name": "FBI Los Angeles",
            "ori": "CA0000F00",
            "jurisdiction": "US-CA",
            "kind": "federal",
            "signing_key": encode_public(KeyKind.SIGNING, bytes(federal_key.verify_key)),
        },
    }
    body = dumps(terms)
    signatures = {
        "requester": ed25519.sign(federal_key, "accord/agreement/v1", body),
        "responder": ed25519.sign(fed.ccpd.keys.signing, "accord/agreement/v1", body),
    }
    document = tmp_path / "fbi.json"
    document.write_bytes(encode_signed_agreement(terms, signatures))
    digest = json.loads(document.read_bytes())["agreement_sha256"]
    await fed.recorder(fed.ccpd, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).record(
        "agreement.created",
        agreement_id="fbi-ccpd-2026",
        version=1,
        agreement_hash=digest,
        peer="fbi-la",
        role="responder",
    )
    rc, findings = check(await fed.export(), fed.agreement_file, document)
    assert rc == 1 and codes(findings) == {"agreement.forbidden_by_profile"}
    assert "ca-sb34-no-federal" in findings[0]["message"]
    # Under the baseline profile the same agreement is lawful.
    rc, findings = check(fed.base / "exports", fed.agreement_file, document, profile="baseline")
    assert (rc, findings) == (0, [])


async def test_skewed_clocks(fed: Federation) -> None:
    await fed.exchange(
        dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), skew=dt.timedelta(minutes=10)
    )
    rc, findings = check(await fed.export(), fed.agreement_file)
    assert rc == 1 and codes(findings) == {"clock.skew"}
    assert set(findings[0]["nodes"]) == {"santa-monica-pd", "culver-city-pd"}
    assert "600.0 s before" in findings[0]["message"]
