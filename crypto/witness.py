"""The witness role as a pure state machine (C2SP ``tlog-witness`` add-checkpoint).

A node witnessing its peers and the federation broker witnessing every member run this
same decision; each keeps its own store around it (the node a SQL table, the broker
files). Given the checkpoint the witness holds for a log (or none) and a submission:

- the log names the size it believes we hold (``old_size``) and sends a consistency proof
  from that size to its new checkpoint;
- if ``old_size`` is not the size we hold, refuse with a conflict carrying our size;
- ``old_size`` 0 with an empty proof is trust on first use;
- a checkpoint that does not extend ours (bad proof, or same size with another root) is
  refused; when both are validly signed by the log but conflict, the refusal carries the
  two notes as equivocation evidence, which the caller MUST keep (it proves a split view);
- otherwise the result carries our cosignature/v1 line over its body, which the caller
  MUST store as the new held checkpoint before returning the line.

Pure: the clock is an argument (``now_s``), nothing is read or written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crypto.checkpoint import parse_checkpoint
from crypto.errors import CryptoError
from crypto.merkle import InvalidProofError, verify_consistency
from crypto.note import NoteVerifier, WitnessSigner, open_note


def member_log_origin(node_name: str) -> str:
    """The checkpoint origin (and log key name) of a node's ledger: ``accord/<node>/ledger``."""
    return f"accord/{node_name}/ledger"


class WitnessError(CryptoError):
    """Base class of a witness's refusals."""


class UnknownLogError(WitnessError):
    """The witness does not witness the checkpoint's log."""


class WitnessConflictError(WitnessError):
    """The submitter's ``old_size`` is not the size the witness holds; carries that size.

    The message format ``witness holds size N`` is what submitters parse to retry.
    """

    def __init__(self, origin: str, held_size: int) -> None:
        super().__init__(f"witness holds size {held_size} of {origin}; retry from that size")
        self.origin = origin
        self.held_size = held_size


@dataclass(frozen=True, slots=True)
class Equivocation:
    """Two checkpoints validly signed by one log that cannot both be honest."""

    origin: str
    reason: str
    note_a: bytes
    note_b: bytes


class InconsistentCheckpointError(WitnessError):
    """The checkpoint does not extend the one held (bad proof, shrink, or a fork)."""

    def __init__(self, message: str, *, equivocation: Equivocation | None = None) -> None:
        super().__init__(message)
        self.equivocation = equivocation


@dataclass(frozen=True, slots=True)
class HeldCheckpoint:
    """The latest checkpoint a witness cosigned for one log."""

    size: int
    root: bytes
    note: bytes


@dataclass(frozen=True, slots=True)
class Cosigned:
    """An accepted checkpoint: what to store as held, and the line to return."""

    origin: str
    size: int
    root: bytes
    note: bytes
    cosignature: str


def checkpoint_origin(note: bytes) -> str:
    """The origin line of a (signed) checkpoint note, unverified: to pick the log's key."""
    text = note[: note.rfind(b"\n\n") + 1] if b"\n\n" in note else note
    return text.split(b"\n", 1)[0].decode("utf-8", "replace")


def add_checkpoint(
    *,
    signer: WitnessSigner,
    log_key: NoteVerifier | None,
    held: HeldCheckpoint | None,
    old_size: int,
    proof: Sequence[bytes],
    note: bytes,
    now_s: int,
) -> Cosigned:
    """Decide on one submission; returns the cosignature or raises a :class:`WitnessError`.

    ``log_key`` is the verifier of the log named by :func:`checkpoint_origin` (``None``
    if this witness does not witness it); ``held`` is what the witness holds for it.
    """
    origin = checkpoint_origin(note)
    if log_key is None or log_key.name != origin:
        raise UnknownLogError(f"this witness does not witness the log {origin!r}")
    opened = open_note(note, [log_key])
    checkpoint = parse_checkpoint(opened.note.text)
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
            verify_consistency(held.size, checkpoint.size, held.root, checkpoint.root, proof)
        except InvalidProofError as e:
            if held.size != checkpoint.size or held.root == checkpoint.root:
                raise InconsistentCheckpointError(
                    f"checkpoint of {origin} does not extend size {held.size}: {e}"
                ) from e
            raise InconsistentCheckpointError(
                f"{origin} signed two different trees of size {held.size}: "
                "kept as equivocation evidence",
                equivocation=Equivocation(
                    origin=origin,
                    reason=f"two roots for size {held.size}",
                    note_a=held.note,
                    note_b=note,
                ),
            ) from e
    return Cosigned(
        origin=origin,
        size=checkpoint.size,
        root=checkpoint.root,
        note=note,
        cosignature=signer.cosign(opened.note.text, now_s),
    )
