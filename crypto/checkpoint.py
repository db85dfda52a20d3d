"""C2SP ``tlog-checkpoint``: the body a log signs, and what follows from two of them.

::

    <origin>\\n                 non-empty; who issued it (Accord: ``accord/<node>/ledger``)
    <tree size>\\n              ASCII decimal, no leading zeros, below 2**64
    <base64 root hash>\\n       standard base64 of the 32-byte RFC 9162 root
    [<extension line>\\n ...]   optional, each non-empty

Parsing is strict: a body is accepted only in the one form :meth:`Checkpoint.encode`
writes, so two different byte strings never carry the same checkpoint.

:func:`open_checkpoint` opens a signed checkpoint and insists on the *log's* signature
(a note signed only by a witness is not a checkpoint of that log). :func:`verify_extends`
decides whether a newer checkpoint extends an older one, and names equivocation.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crypto.errors import EquivocationError, InvalidCheckpointError, InvalidProofError
from crypto.merkle import EMPTY_ROOT, HASH_SIZE, MAX_TREE_SIZE, verify_consistency
from crypto.note import ALG_ED25519, NoteVerifier, VerifiedNote, open_note

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "SignedCheckpoint",
    "open_checkpoint",
    "parse_checkpoint",
    "verify_extends",
]

#: The name callers have long imported from here.
CheckpointError = InvalidCheckpointError

_SIZE = re.compile(r"(?:0|[1-9][0-9]{0,19})")
_BASE64_32 = re.compile(r"[A-Za-z0-9+/]{43}=")
_MAX_BODY = 1 << 16


def _check_line(line: str, what: str) -> None:
    if not line:
        raise InvalidCheckpointError(f"{what} must not be empty")
    if any(c < " " for c in line):  # newline and every other control character
        raise InvalidCheckpointError(f"{what} must not contain control characters")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head at one size: the text of a checkpoint note."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise InvalidCheckpointError(f"tree size {self.size} is outside 0..2**64-1")
        if len(self.root) != HASH_SIZE:
            raise InvalidCheckpointError("root hash must be 32 bytes")
        for ext in self.extensions:
            _check_line(ext, "extension line")

    def encode(self) -> bytes:
        """The note text, newline-terminated."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")


def parse_checkpoint(text: bytes) -> Checkpoint:
    """Parse a checkpoint body (a note's text); raises :class:`InvalidCheckpointError`."""
    if len(text) > _MAX_BODY:
        raise InvalidCheckpointError("checkpoint is too large")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidCheckpointError("checkpoint is not UTF-8") from e
    if not decoded.endswith("\n"):
        raise InvalidCheckpointError("checkpoint must end in a newline")
    lines = decoded[:-1].split("\n")
    if len(lines) < 3:
        raise InvalidCheckpointError("checkpoint needs origin, size and root lines")
    origin, size_text, root_text, *extensions = lines
    if not _SIZE.fullmatch(size_text):
        raise InvalidCheckpointError("tree size must be decimal without leading zeros")
    if not _BASE64_32.fullmatch(root_text):
        raise InvalidCheckpointError("root hash must be the base64 of 32 bytes")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as e:  # pragma: no cover - the pattern admits only valid text
        raise InvalidCheckpointError("root hash is not base64") from e
    checkpoint = Checkpoint(origin, int(size_text), root, tuple(extensions))
    if checkpoint.encode() != text:  # e.g. base64 with stray low bits
        raise InvalidCheckpointError("checkpoint is not in canonical form")
    return checkpoint


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint whose log signature verified, with the witnesses that cosigned it."""

    checkpoint: Checkpoint
    note: VerifiedNote

    @property
    def cosigners(self) -> frozenset[str]:
        """Names of the witnesses whose cosignature verified."""
        return frozenset(name for name, _ in self.note.cosigned_at)


def open_checkpoint(
    data: bytes,
    log: NoteVerifier,
    witnesses: Iterable[NoteVerifier] = (),
    *,
    now: int | None = None,
) -> SignedCheckpoint:
    """Verify a signed checkpoint of the log ``log`` and parse its body.

    MUST carry a valid signature by ``log`` (an Ed25519 key whose name is the origin);
    cosignatures from ``witnesses`` are checked too, and a bad one from a known witness
    fails the whole note. ``now`` (Unix seconds) refuses cosignatures from the future.
    Counting cosigners against a quorum is the caller's policy.
    """
    if log.alg != ALG_ED25519:
        raise InvalidCheckpointError("a log's checkpoint key must be Ed25519 (type 0x01)")
    opened = open_note(data, [log, *witnesses], now=now)
    if log not in opened.verified_by:
        raise InvalidCheckpointError(f"checkpoint is not signed by the log key {log.name}")
    checkpoint = parse_checkpoint(opened.text)
    if checkpoint.origin != log.name:
        raise InvalidCheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the log {log.name!r}"
        )
    return SignedCheckpoint(checkpoint, opened)


def verify_extends(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Check that ``new`` is the same log as ``old``, grown append-only.

    - another origin, or a size-0 checkpoint whose root is not ``EMPTY_ROOT``:
      :class:`InvalidCheckpointError`;
    - the same size with another root: :class:`EquivocationError` (if the log signed both,
      the pair is evidence of a split view);
    - a smaller size, or a consistency proof that does not verify: :class:`InvalidProofError`.

    Unlike :func:`crypto.merkle.verify_consistency`, ``old`` may be the empty tree (as
    in the tlog-witness protocol): anything extends it, with an empty proof.
    """
    if old.origin != new.origin:
        raise InvalidCheckpointError(f"checkpoints of {old.origin!r} and {new.origin!r}")
    for cp in (old, new):
        if cp.size == 0 and cp.root != EMPTY_ROOT:
            raise InvalidCheckpointError("the root of the empty tree is SHA-256 of nothing")
    if old.size == new.size and old.root != new.root:
        raise EquivocationError(f"{old.origin} has two different trees of size {old.size}")
    if new.size < old.size:
        raise InvalidProofError(f"size {new.size} is smaller than the earlier {old.size}")
    if old.size == 0:
        if proof:
            raise InvalidProofError("a proof from the empty tree must be empty")
        return
    verify_consistency(old.size, new.size, old.root, new.root, proof)
