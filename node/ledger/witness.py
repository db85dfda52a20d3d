"""The witness role: cosign a peer's checkpoint only if it extends what we cosigned before.

Follows the C2SP ``tlog-witness`` add-checkpoint semantics:

- the log names the size it believes we hold (``old_size``) and sends a consistency proof
  from that size to its new checkpoint;
- if ``old_size`` is not the size we hold, we refuse with a conflict carrying our size;
- ``old_size`` 0 with an empty proof is trust on first use;
- a checkpoint that does not extend ours (bad proof, or same size with another root) is
  refused; when two checkpoints are validly signed by the log but conflict, both notes are
  kept as equivocation evidence, which is what lets a split view be proven to anyone;
- otherwise we store it and return our cosignature/v1 line over its body.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy.orm import Session, sessionmaker

from crypto.checkpoint import parse_checkpoint
from crypto.merkle import InvalidProofError, verify_consistency
from crypto.note import NoteVerifier, WitnessSigner, open_note
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
        text = note[: note.rfind(b"\n\n") + 1] if b"\n\n" in note else note
        origin = text.split(b"\n", 1)[0].decode("utf-8", "replace")
        verifier = self._known().get(origin)
        if verifier is None:
            raise UnknownLogError(f"this node does not witness the log {origin!r}")
        opened = open_note(note, [verifier])
        checkpoint = parse_checkpoint(opened.note.text)
        now = self._clock()
        refusal: Exception | None = None
        line = ""
        with session_scope(self._sessions) as s:
            repo = WitnessRepository(s)
            held = repo.latest(origin)
            held_size = held.size if held else 0
            if old_size != held_size:
                raise WitnessConflictError(origin, held_size)
            if checkpoint.size < held_size:
                raise InconsistentCheckpointError(
                    f"checkpoint of size {checkpoint.size} is smaller than the cosigned {held_size}"
                )
            if held is None:
                if proof:
                    raise InconsistentCheckpointError("a first checkpoint takes an empty proof")
            else:
                try:
                    verify_consistency(
                        held.size, checkpoint.size, held.root, checkpoint.root, proof
                    )
                except InvalidProofError as e:
                    if held.size != checkpoint.size or held.root == checkpoint.root:
                        raise InconsistentCheckpointError(
                            f"checkpoint of {origin} does not extend size {held.size}: {e}"
                        ) from e
                    # Both notes are validly signed by the log: keep them (committed below)
                    # as evidence, then refuse.
                    repo.add_equivocation(
                        origin,
                        reason=f"two roots for size {held.size}",
                        note_a=held.note,
                        note_b=note,
                        detected=now,
                    )
                    refusal = InconsistentCheckpointError(
                        f"{origin} signed two different trees of size {held.size}: "
                        "kept as equivocation evidence"
                    )
            if refusal is None:
                line = self.signer.cosign(opened.note.text, int(now.timestamp()))
                repo.record(
                    WitnessedCheckpoint(
                        origin=origin,
                        size=checkpoint.size,
                        root=checkpoint.root,
                        note=note,
                        cosignature=line,
                        received=now,
                    )
                )
        if refusal is not None:
            raise refusal
        return line
