"""Real node ledgers for audit tests: SQLite log, Ed25519 checkpoints, witness cosignatures,
exported as tiles in the layout ``accord ledger export`` and ``accord demo`` leave."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from audit.ledger_set import LOG_DIR, POLICY_FILE, VKEY_FILE
from crypto.entries import Entry
from node.ids import LogId
from node.ledger.export import export_tiles
from node.ledger.log import LedgerLog
from node.ledger.names import log_origin, log_signer, witness_signer
from node.ledger.publisher import Publisher, WitnessClient
from node.ledger.witness import Witness
from node.store.db import create_engine, session_factory
from node.store.migrate import upgrade

#: 2027-01-01T00:00:00Z: entry times in tests are fixed, never the wall clock.
T0_MS = 1_798_761_600_000
DAY_MS = 86_400_000


def hex32(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def entry(node: str, type_: str, time_ms: int, **fields: Any) -> Entry:
    return Entry(type=type_, time_ms=time_ms, node=node, fields=fields)


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"accord-test-key/" + label.encode()).digest()


def _store(path: Path) -> Any:
    url = f"sqlite:///{path}"
    upgrade(url)
    return session_factory(create_engine(url))


def build_export(
    base: Path,
    node: str,
    entries: Sequence[Entry],
    *,
    witnesses: Sequence[str] = ("witness-a",),
    write_policy: bool = True,
) -> Path:
    """Append ``entries`` to a fresh ledger of ``node``, have each witness cosign, and
    export ``<base>/<node>/{ledger/, ledger.vkey, audit-policy.toml}``; returns the
    export directory. Keys derive from the names, so runs are reproducible."""
    home = base / node
    (home / "store").mkdir(parents=True)
    origin = log_origin(node)
    signer = log_signer(node, SigningKey(_seed(origin)))
    witness_keys = [witness_signer(w, SigningKey(_seed(f"{w}/witness"))) for w in witnesses]

    async def build() -> None:
        sessions = _store(home / "store" / "ledger.db")
        ledger = LedgerLog(sessions, LogId(origin))
        await ledger.open()
        clients = []
        for i, key in enumerate(witness_keys):
            w = Witness(_store(home / "store" / f"w{i}.db"), key, {origin: signer.verifier})

            async def call(old: int, proof: Sequence[bytes], note: bytes, w: Witness = w) -> str:
                return w.add_checkpoint(old, proof, note)

            clients.append(WitnessClient(w.signer.verifier, call))
        publisher = Publisher(ledger, sessions, signer, witnesses=clients)
        for e in entries:
            await ledger.append(e.encode())
        await publisher.gather_cosignatures(publisher.sign())
        export_tiles(ledger, publisher, sessions, home / LOG_DIR)
        await ledger.close()

    asyncio.run(build())
    (home / VKEY_FILE).write_text(signer.verifier.vkey() + "\n")
    if write_policy:
        keys = ", ".join(f'"{k.verifier.vkey()}"' for k in witness_keys)
        quorum = len(witness_keys)
        extra = "" if quorum else "unsafe_no_witnesses = true\n"
        (home / POLICY_FILE).write_text(
            f'log = "{signer.verifier.vkey()}"\nwitnesses = [{keys}]\nquorum = {quorum}\n{extra}'
        )
    return home
