"""The broker's witness: cosigns every member's checkpoints, exactly as node witnesses do.

The decision is :func:`crypto.witness.add_checkpoint`; this module keeps the broker's side:
the logs it witnesses are those of the current directory's members (a removed member's
log is no longer cosigned), the checkpoint it holds per log is one file
``witness/<member>.json``, and equivocation evidence is kept forever as new files under
``witness/equivocations/``. Checkpoints carry no plate, label, query or answer: only a
log's size, root hash and signatures.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from broker.files import write_atomic, write_new
from crypto import witness as protocol
from crypto.directory import Member
from crypto.note import ALG_ED25519, NoteVerifier, WitnessSigner

EQUIVOCATIONS_DIR = "equivocations"


def member_log_keys(members: Sequence[Member]) -> dict[str, NoteVerifier]:
    """Checkpoint origin -> the log key the directory pins for it."""
    keys = {}
    for m in members:
        origin = protocol.member_log_origin(m.name)
        keys[origin] = NoteVerifier(origin, ALG_ED25519, bytes.fromhex(m.log_key))
    return keys


class BrokerWitness:
    """Cosigns checkpoints of the members' logs; state in ``<home>/witness``."""

    def __init__(
        self,
        state_dir: Path,
        signer: WitnessSigner,
        members: Callable[[], Sequence[Member]],
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._dir = state_dir
        self.signer = signer
        self._members = members
        self._clock = clock
        self._lock = threading.Lock()

    def _path(self, origin: str) -> Path:
        # Origins are accord/<member>/ledger and member names are DNS labels.
        return self._dir / f"{origin.split('/')[1]}.json"

    def held(self, origin: str) -> protocol.HeldCheckpoint | None:
        """The latest checkpoint cosigned for ``origin``, if any."""
        try:
            doc = json.loads(self._path(origin).read_bytes())
        except FileNotFoundError:
            return None
        return protocol.HeldCheckpoint(
            size=int(doc["size"]),
            root=bytes.fromhex(doc["root"]),
            note=base64.b64decode(doc["note"]),
        )

    def add_checkpoint(self, old_size: int, proof: Sequence[bytes], note: bytes) -> str:
        """Verify and cosign; returns the cosignature line or raises a
        :class:`crypto.witness.WitnessError`."""
        origin = protocol.checkpoint_origin(note)
        log_key = member_log_keys(self._members()).get(origin)
        if log_key is None:
            raise protocol.UnknownLogError(f"the broker does not witness the log {origin!r}")
        now = self._clock()
        with self._lock:
            try:
                accepted = protocol.add_checkpoint(
                    signer=self.signer,
                    log_key=log_key,
                    held=self.held(origin),
                    old_size=old_size,
                    proof=proof,
                    note=note,
                    now_s=int(now.timestamp()),
                )
            except protocol.InconsistentCheckpointError as e:
                if e.equivocation is not None:
                    self._keep_evidence(e.equivocation, now)
                raise
            doc = {
                "origin": accepted.origin,
                "size": accepted.size,
                "root": accepted.root.hex(),
                "note": base64.b64encode(accepted.note).decode("ascii"),
                "cosignature": accepted.cosignature,
                "received": now.isoformat(),
            }
            write_atomic(self._path(origin), json.dumps(doc, indent=2).encode(), mode=0o600)
        return accepted.cosignature

    def _keep_evidence(self, evidence: protocol.Equivocation, now: dt.datetime) -> None:
        folder = self._dir / EQUIVOCATIONS_DIR
        folder.mkdir(mode=0o700, exist_ok=True)
        doc = {
            "origin": evidence.origin,
            "reason": evidence.reason,
            "note_a": base64.b64encode(evidence.note_a).decode("ascii"),
            "note_b": base64.b64encode(evidence.note_b).decode("ascii"),
            "detected": now.isoformat(),
        }
        member = evidence.origin.split("/")[1]
        name = f"{member}-{int(now.timestamp() * 1000)}-{os.urandom(4).hex()}"
        write_new(folder / f"{name}.json", json.dumps(doc, indent=2).encode(), 0o600)

    def equivocations(self) -> list[protocol.Equivocation]:
        """Every piece of evidence kept, oldest first."""
        folder = self._dir / EQUIVOCATIONS_DIR
        if not folder.exists():
            return []
        found = []
        for path in sorted(folder.glob("*.json")):
            doc = json.loads(path.read_bytes())
            found.append(
                protocol.Equivocation(
                    origin=doc["origin"],
                    reason=doc["reason"],
                    note_a=base64.b64decode(doc["note_a"]),
                    note_b=base64.b64decode(doc["note_b"]),
                )
            )
        return found
