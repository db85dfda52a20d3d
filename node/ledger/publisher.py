"""Publishing the log: signed checkpoints, and cosignatures gathered from witnesses.

A checkpoint is signed at most every ``interval_s`` while the log grows, and every
``heartbeat_s`` otherwise, so witnesses keep attesting freshness. Every checkpoint and
every cosignature is stored (append-only), giving auditors the full history.

A checkpoint counts as *published* once a :class:`QuorumPolicy` is met by the
cosignatures gathered for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import grpc
import grpc.aio
from sqlalchemy.orm import Session, sessionmaker

from crypto.checkpoint import Checkpoint
from crypto.note import (
    NoteError,
    NoteSigner,
    NoteVerifier,
    add_signature_lines,
    open_note,
    sign_note,
)
from node.ids import CheckpointId, LogId
from node.ledger.log import LedgerLog
from node.store.db import session_scope
from node.store.ledger import LedgerRepository, StoredCheckpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QuorumPolicy:
    """Which witnesses count, and how many of them must cosign.

    An empty witness list or a threshold of zero is refused: a quorum that is always met
    is no check at all (use :meth:`unsafe_none` to say so explicitly).
    """

    witnesses: tuple[NoteVerifier, ...]
    threshold: int

    def __post_init__(self) -> None:
        if self.threshold < 0 or self.threshold > len(self.witnesses):
            raise ValueError("quorum threshold must be between 0 and the number of witnesses")
        if self.threshold == 0 and self.witnesses:
            raise ValueError("a threshold of zero with witnesses named is a mistake")

    @classmethod
    def unsafe_none(cls) -> QuorumPolicy:
        """No witnesses: checkpoints count as published on the log's signature alone."""
        log.warning("quorum policy without witnesses: split views cannot be detected")
        return cls((), 0)

    def met_by(self, log_key: NoteVerifier, note: bytes) -> bool:
        """Whether ``note`` carries enough valid cosignatures (raises on a bad one)."""
        opened = open_note(note, [log_key, *self.witnesses])
        if log_key not in opened.verified_by:
            raise NoteError("checkpoint is not signed by the log")
        cosigners = {name for name, _ in opened.cosigned_at}
        return len(cosigners & {w.name for w in self.witnesses}) >= self.threshold


#: Sends a checkpoint to a witness: (old_size, consistency proof, note) -> cosignature line.
WitnessCall = Callable[[int, Sequence[bytes], bytes], Awaitable[str]]


@dataclass
class WitnessClient:
    """A witness as the publisher sees it: a name, its key and how to reach it."""

    verifier: NoteVerifier
    add_checkpoint: WitnessCall
    last_size: int = 0


class Publisher:
    """Signs checkpoints of one log and collects cosignatures."""

    def __init__(
        self,
        ledger: LedgerLog,
        sessions: sessionmaker[Session],
        signer: NoteSigner,
        *,
        witnesses: Sequence[WitnessClient] = (),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        if signer.name != ledger.log_id:
            raise ValueError("the log key's name must be the log's origin")
        self._ledger = ledger
        self._sessions = sessions
        self.signer = signer
        self.witnesses = list(witnesses)
        self._clock = clock
        self._last_signed_at: dt.datetime | None = None

    @property
    def origin(self) -> LogId:
        return self._ledger.log_id

    def latest(self) -> StoredCheckpoint | None:
        with session_scope(self._sessions) as s:
            return LedgerRepository(s).latest_checkpoint(self.origin)

    def sign(self) -> StoredCheckpoint:
        """Sign and store a checkpoint of everything committed so far."""
        head = self._ledger.head
        body = Checkpoint(self.origin, head.size, head.root).encode()
        note = sign_note(body, [self.signer])
        now = self._clock()
        with session_scope(self._sessions) as s:
            stored = LedgerRepository(s).add_checkpoint(
                self.origin, size=head.size, root=head.root, note=note, time=now
            )
        self._last_signed_at = now
        return stored

    def maybe_sign(self, *, heartbeat_s: float) -> StoredCheckpoint | None:
        """Sign if the log grew since the last checkpoint, or the heartbeat is due."""
        latest = self.latest()
        now = self._clock()
        grew = latest is None or self._ledger.head.size > latest.size
        due = latest is None or (now - latest.time).total_seconds() >= heartbeat_s
        return self.sign() if grew or due else None

    async def gather_cosignatures(self, checkpoint: StoredCheckpoint) -> bytes:
        """Send ``checkpoint`` to every witness that has not cosigned it yet; store the new
        cosignatures and return the note with all of them."""
        with session_scope(self._sessions) as s:
            done = {
                c.witness_name
                for c in LedgerRepository(s).cosignatures(CheckpointId(checkpoint.id))
            }
        lines: list[tuple[str, str]] = []
        for w in self.witnesses:
            if w.verifier.name in done:
                continue
            try:
                proof = (
                    self._ledger.consistency_proof(w.last_size, checkpoint.size)
                    if 0 < w.last_size < checkpoint.size
                    else []
                )
                line = await w.add_checkpoint(w.last_size, proof, checkpoint.note)
            except Exception as e:  # one witness down must not stop the others
                log.warning(
                    "witness %s did not cosign size %d: %s",
                    w.verifier.name,
                    checkpoint.size,
                    _describe(e),
                )
                held = getattr(e, "held_size", None)
                if isinstance(held, int):
                    w.last_size = held
                continue
            w.last_size = checkpoint.size
            lines.append((w.verifier.name, line))
        if lines:
            checked = add_signature_lines(checkpoint.note, [ln for _, ln in lines])
            open_note(checked, [self.signer.verifier, *(w.verifier for w in self.witnesses)])
            now = self._clock()
            with session_scope(self._sessions) as s:
                repo = LedgerRepository(s)
                for name, line in lines:
                    w = next(x for x in self.witnesses if x.verifier.name == name)
                    repo.add_cosignature(
                        CheckpointId(checkpoint.id),
                        witness_name=name,
                        key_id=w.verifier.key_id,
                        line=line,
                        time=now,
                    )
        return self.cosigned_note(checkpoint)

    def cosigned_note(self, checkpoint: StoredCheckpoint) -> bytes:
        """The checkpoint's note with every cosignature stored for it."""
        with session_scope(self._sessions) as s:
            lines = [c.line for c in LedgerRepository(s).cosignatures(CheckpointId(checkpoint.id))]
        return add_signature_lines(checkpoint.note, lines) if lines else checkpoint.note

    async def run(self, *, interval_s: float = 1.0, heartbeat_s: float = 60.0) -> None:
        """Publish until cancelled: sign when due, then ask the witnesses to cosign."""
        while True:
            try:
                cp = await asyncio.to_thread(self.maybe_sign, heartbeat_s=heartbeat_s)
                if cp is not None and self.witnesses:
                    await self.gather_cosignatures(cp)
            except Exception:
                log.exception("publishing a checkpoint of %s failed", self.origin)
            await asyncio.sleep(interval_s)


def _describe(error: Exception) -> str:
    """One line for the log: a gRPC failure as its status and details, not its repr."""
    if isinstance(error, grpc.aio.AioRpcError):
        return f"{error.code().name}: {error.details()}"
    return str(error) or type(error).__name__
