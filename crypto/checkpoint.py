"""C2SP ``tlog-checkpoint`` bodies: origin, tree size, root hash, optional extensions.

::

    <origin>\\n
    <decimal tree size>\\n
    <base64 root hash>\\n
    [extension lines]\\n

Parsing is strict (no leading zeros, 32-byte hash, non-empty lines), so one checkpoint
has exactly one encoding.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from crypto.errors import CryptoError

_SIZE = re.compile(r"^(0|[1-9][0-9]{0,19})$")


class CheckpointError(CryptoError):
    """A checkpoint body is malformed."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def encode(self) -> bytes:
        if (
            not self.origin
            or any(c in self.origin for c in "\n\r")
            or not self.origin.isprintable()
        ):
            raise CheckpointError("invalid origin")
        if not 0 <= self.size < 2**64 or len(self.root) != 32:
            raise CheckpointError("invalid size or root")
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")


def parse_checkpoint(text: bytes) -> Checkpoint:
    """Parse a checkpoint body (the text of a signed note)."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CheckpointError("checkpoint is not UTF-8") from e
    if not decoded.endswith("\n"):
        raise CheckpointError("checkpoint must end in a newline")
    lines = decoded[:-1].split("\n")
    if len(lines) < 3 or any(not ln for ln in lines):
        raise CheckpointError("checkpoint needs origin, size and root lines")
    origin, size_text, root_text, *ext = lines
    if not _SIZE.match(size_text) or int(size_text) >= 2**64:
        raise CheckpointError("invalid tree size")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as e:
        raise CheckpointError("root hash is not base64") from e
    if len(root) != 32:
        raise CheckpointError("root hash must be 32 bytes")
    cp = Checkpoint(origin, int(size_text), root, tuple(ext))
    if cp.encode() != text:
        raise CheckpointError("checkpoint is not in canonical form")
    return cp
