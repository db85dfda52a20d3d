"""Encrypted read index entries derived from OPRF outputs (sans-IO).

The responder B holds a VOPRF key per (agreement, epoch). For a read of plate ``p`` it
computes the OPRF output ``y = F(k, p)`` itself, and emits an entry::

    tag      = HMAC-SHA256(y, "accord/index/v1/tag")            never leaves B
    label_k  = HMAC-SHA256(y, "accord/index/v1/label")
    entry_id = HMAC-SHA256(tag, scope || j)[:16]                 j = j-th read of p in scope
    label    = ChaCha20-Poly1305(HMAC(label_k, entry_id), nonce=0, ad=scope||entry_id, detail)

Entries of the same plate are unlinkable without ``y`` (each has a fresh id), and only a
party that learnt ``y`` through an interactive, rate-limited, logged OPRF evaluation can
recompute the ids for ``j = 0, 1, ...`` and open the labels. Each label has its own key
(derived from its unique entry id), so the all-zero nonce is never reused under a key.

When B destroys the epoch key, ``y`` can no longer be obtained for any plate: every
replicated entry of that epoch becomes unmatchable and unreadable, by anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto.errors import LabelError

ENTRY_ID_SIZE = 16
LABEL_OVERHEAD = 16
_TAG_INFO = b"accord/index/v1/tag"
_LABEL_INFO = b"accord/index/v1/label"
_ID_DOMAIN = b"accord/index/v1/id"
_NONCE = bytes(12)
_MAX_SCOPE = 255


@dataclass(frozen=True, slots=True)
class IndexScope:
    """The agreement and epoch an entry belongs to; bound into every id and label."""

    agreement_id: str
    epoch: int

    def encode(self) -> bytes:
        a = self.agreement_id.encode("utf-8")
        if not a or len(a) > _MAX_SCOPE or not 0 <= self.epoch < 2**32:
            raise ValueError("invalid index scope")
        return struct.pack(">B", len(a)) + a + struct.pack(">I", self.epoch)


@dataclass(frozen=True, slots=True)
class MatchKey:
    """What an OPRF output yields: the tag to find entries and the key to open labels.

    Secret: it is equivalent to knowing the plate within this scope.
    """

    tag: bytes
    label_key: bytes

    @classmethod
    def from_oprf_output(cls, output: bytes) -> MatchKey:
        return cls(
            tag=hmac.digest(output, _TAG_INFO, hashlib.sha256),
            label_key=hmac.digest(output, _LABEL_INFO, hashlib.sha256),
        )

    def entry_id(self, scope_bytes: bytes, occurrence: int) -> bytes:
        """The id of the ``occurrence``-th entry of this plate in the scope."""
        msg = _ID_DOMAIN + scope_bytes + struct.pack(">I", occurrence)
        return hmac.digest(self.tag, msg, hashlib.sha256)[:ENTRY_ID_SIZE]

    def _entry_key(self, entry_id: bytes) -> bytes:
        return hmac.digest(self.label_key, entry_id, hashlib.sha256)

    def seal_label(self, scope_bytes: bytes, entry_id: bytes, detail: bytes) -> bytes:
        """Encrypt ``detail`` (already padded by the caller) for this entry."""
        aead = ChaCha20Poly1305(self._entry_key(entry_id))
        return aead.encrypt(_NONCE, detail, scope_bytes + entry_id)

    def open_label(self, scope_bytes: bytes, entry_id: bytes, label: bytes) -> bytes:
        """Decrypt a label; raises :class:`LabelError` if it was not made for this key."""
        if len(label) < LABEL_OVERHEAD:
            raise LabelError("label too short")
        aead = ChaCha20Poly1305(self._entry_key(entry_id))
        try:
            return aead.decrypt(_NONCE, label, scope_bytes + entry_id)
        except InvalidTag as e:
            raise LabelError("label does not open with this key") from e


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One encrypted index entry as stored and streamed: no plate, no linkable tag."""

    entry_id: bytes
    label: bytes


def make_entry(match: MatchKey, scope_bytes: bytes, occurrence: int, detail: bytes) -> IndexEntry:
    """Build the entry for the ``occurrence``-th read of a plate in a scope."""
    eid = match.entry_id(scope_bytes, occurrence)
    return IndexEntry(entry_id=eid, label=match.seal_label(scope_bytes, eid, detail))
