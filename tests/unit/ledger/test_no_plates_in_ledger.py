"""No plate of a run appears in any ledger byte: database file, checkpoints or export.

The entries below are what both sides log for queries about these plates: commitments to
the canonical query (which here, as the worst case, contains the plates themselves),
keyed pseudonyms for the officer and commitments to the case number.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from nacl.signing import SigningKey

from crypto.entries import q_commit
from crypto.note import NoteSigner
from node.ids import LogId
from node.ledger.export import export_tiles
from node.ledger.log import LedgerLog
from node.ledger.publisher import Publisher
from node.ledger.recorder import Recorder
from node.store.db import create_engine, session_factory
from node.store.migrate import upgrade

PLATES = ["7ABC123", "8XYZ999", "4GHJ221", "CA 5KLM 404", "6tre-551"]
H = "ab" * 32


def forms(plate: str) -> set[bytes]:
    """The plate as text and as common unkeyed digests, in the cases and separators used."""
    bare = "".join(c for c in plate if c.isalnum())
    out: set[bytes] = set()
    for text in {plate, bare, bare.upper(), bare.lower(), plate.upper(), plate.lower()}:
        raw = text.encode()
        out.add(raw)
        for algo in ("sha256", "sha1", "md5", "blake2b", "blake2s"):
            digest = hashlib.new(algo, raw).digest()
            out |= {digest, digest.hex().encode()}
    return out


async def test_no_plate_in_any_ledger_byte(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    sessions = session_factory(create_engine(url))
    log = LedgerLog(sessions, LogId("accord/alpha/ledger"))
    await log.open()
    recorder = Recorder(log, node_name="alpha", actor_key=os.urandom(32))
    for i, plate in enumerate(PLATES):
        salt = os.urandom(32)
        query = json.dumps({"plates": [plate], "case": f"24-{i:05d}"}).encode()
        common = {
            "request_id": f"req-{i}",
            "peer": "bravo",
            "agreement_id": "agr-1",
            "agreement_hash": H,
            "purpose": "pc-187",
            "case_commit": hashlib.sha256(salt + f"24-{i:05d}".encode()).hexdigest(),
            "actor": recorder.actor("officer-17"),
            "window_days": 7,
            "batch_size": 1,
            "q_commit": q_commit(salt, query),
        }
        await recorder.record("query.sent", **common)
        await recorder.record(
            "query.received", **common, decision="allowed", rule_ids=["baseline-honour-query"]
        )
        await recorder.record(
            "answer.received",
            request_id=f"req-{i}",
            peer="bravo",
            q_commit=common["q_commit"],
            hits=1,
            receipt_index=i,
        )
    publisher = Publisher(
        log, sessions, NoteSigner("accord/alpha/ledger", SigningKey(b"\x01" * 32))
    )
    publisher.sign()
    export_tiles(log, publisher, sessions, tmp_path / "tiles")
    await log.close()

    every_byte = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for plate in PLATES:
        for form in forms(plate):
            assert form not in every_byte, f"a form of plate #{PLATES.index(plate)} leaked"
