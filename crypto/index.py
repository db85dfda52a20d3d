"""Encrypted read index entries derived from OPRF outputs (sans-IO).

The responder B holds a VOPRF key per (agreement, epoch). For a read of plate ``p`` it
computes the OPRF output ``y = F(k, p)`` itself, and emits an entry::

    tag || label_k = BLAKE2b-512(key = y, person = "accord/idx2/keys")      never leave B
    entry_id       = BLAKE2b-128(key = tag, person = "accord/idx2/id", scope || j)
    label          = ChaCha20-Poly1305(key, nonce = 0, ad = scope || entry_id, detail)
      where key    = BLAKE2b-256(key = label_k, person = "accord/idx2/lbl", entry_id)

and ``j`` counts the earlier reads of ``p`` in the scope. Keyed BLAKE2b (RFC 7693) is the
PRF throughout, domain-separated by its personalisation (the construction of libsodium's
``crypto_kdf``): as a PRF it is as strong as the HMAC-SHA256 of the first version of
this index, at a third of the cost per call, and the indexer makes three calls per read.

Entries of the same plate are unlinkable without ``y`` (each has a fresh id), and only a
party that learnt ``y`` through an interactive, rate-limited, logged OPRF evaluation can
recompute the ids for ``j = 0, 1, ...`` and open the labels. Each label has its own key
(derived from its unique entry id), so the all-zero nonce is never reused under a key.

When B destroys the epoch key, ``y`` can no longer be obtained for any plate: every
replicated entry of that epoch becomes unmatchable and unreadable, by anyone.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto.errors import LabelError

ENTRY_ID_SIZE = 16
LABEL_OVERHEAD = 16
#: BLAKE2b personalisations (at most 16 bytes): one per derived value.
_KEYS_PERSON = b"accord/idx2/keys"
_ID_PERSON = b"accord/idx2/id"
_LABEL_PERSON = b"accord/idx2/lbl"
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
        keys = hashlib.blake2b(key=output, digest_size=64, person=_KEYS_PERSON).digest()
        return cls(tag=keys[:32], label_key=keys[32:])

    def entry_id(self, scope_bytes: bytes, occurrence: int) -> bytes:
        """The id of the ``occurrence``-th entry of this plate in the scope."""
        msg = scope_bytes + occurrence.to_bytes(4, "big")
        return hashlib.blake2b(
            msg, key=self.tag, digest_size=ENTRY_ID_SIZE, person=_ID_PERSON
        ).digest()

    def _entry_key(self, entry_id: bytes) -> bytes:
        return hashlib.blake2b(
            entry_id, key=self.label_key, digest_size=32, person=_LABEL_PERSON
        ).digest()

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


def entry_for_output(
    output: bytes, scope_bytes: bytes, occurrence: int, detail: bytes
) -> tuple[bytes, bytes]:
    """``(entry_id, label)`` of :func:`make_entry` for the key of ``output``, in one step:
    what the indexer makes once per read, without the objects it would throw away."""
    b2 = hashlib.blake2b
    keys = b2(key=output, digest_size=64, person=_KEYS_PERSON).digest()
    msg = scope_bytes + occurrence.to_bytes(4, "big")
    eid = b2(msg, key=keys[:32], digest_size=ENTRY_ID_SIZE, person=_ID_PERSON).digest()
    key = b2(eid, key=keys[32:], digest_size=32, person=_LABEL_PERSON).digest()
    return eid, ChaCha20Poly1305(key).encrypt(_NONCE, detail, scope_bytes + eid)
