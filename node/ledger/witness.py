"""The witness role: cosign a peer's checkpoint only if it extends what we cosigned before.

The decision is :func:`crypto.witness.add_checkpoint` (C2SP ``tlog-witness``
add-checkpoint semantics, shared with the federation broker's witness); this module keeps
the node's side of it: the held checkpoint of each peer log in the node's store, the
equivocation evidence (two validly signed, conflicting checkpoints: what lets a split view
be proven to anyone), and the node's own error types for the gRPC status table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy.orm import Session, sessionmaker

from crypto import witness as protocol
from crypto.note import NoteVerifier, WitnessSigner
from node.ledger.errors import (
    InconsistentCheckpointError,
    UnknownLogError,
    WitnessConflictError,
)
from node.store.db import session_scope
from node.store.witness import WitnessedCheckpoint, WitnessRepository


class Witness:
    """Cosigns checkpoints of the logs in ``logs`` (origin -> the log's verifier key)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        signer: WitnessSigner,
        logs: Mapping[str, NoteVerifier] | Callable[[], Mapping[str, NoteVerifier]],
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sessions = sessions
        self.signer = signer
        self._logs = logs
        self._clock = clock

    def _known(self) -> Mapping[str, NoteVerifier]:
        return self._logs() if callable(self._logs) else self._logs

    def add_checkpoint(self, old_size: int, proof: Sequence[bytes], note: bytes) -> str:
        """Verify and cosign; returns the cosignature line. Raises on any refusal."""
        origin = protocol.checkpoint_origin(note)
        log_key = self._known().get(origin)
        if log_key is None:
            raise UnknownLogError(f"this node does not witness the log {origin!r}")
        now = self._clock()
        refusal: Exception | None = None
        line = ""
        with session_scope(self._sessions) as s:
            repo = WitnessRepository(s)
            held = repo.latest(origin)
            try:
                accepted = protocol.add_checkpoint(
                    signer=self.signer,
                    log_key=log_key,
                    held=None
                    if held is None
                    else protocol.HeldCheckpoint(held.size, held.root, held.note),
                    old_size=old_size,
                    proof=proof,
                    note=note,
                    now_s=int(now.timestamp()),
                )
            except protocol.WitnessConflictError as e:
                raise WitnessConflictError(origin, e.held_size) from e
            except protocol.InconsistentCheckpointError as e:
                if e.equivocation is None:
                    raise InconsistentCheckpointError(str(e)) from e
                # Both notes are validly signed by the log: keep them (committed with this
                # session) as evidence, then refuse.
                repo.add_equivocation(
                    origin,
                    reason=e.equivocation.reason,
                    note_a=e.equivocation.note_a,
                    note_b=e.equivocation.note_b,
                    detected=now,
                )
                refusal = InconsistentCheckpointError(str(e))
            else:
                line = accepted.cosignature
                repo.record(
                    WitnessedCheckpoint(
                        origin=origin,
                        size=accepted.size,
                        root=accepted.root,
                        note=note,
                        cosignature=line,
                        received=now,
                    )
                )
        if refusal is not None:
            raise refusal
        return line
