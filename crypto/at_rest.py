"""Sealing the node's own data at rest, and finding a plate's reads without decrypting.

Reads, candidate lists and plate crops are sealed under the data key of their
``(data_class, epoch)`` (see :mod:`node.store.epochs`) with XChaCha20-Poly1305. The
associated data binds each ciphertext to what it is and where it lives::

    ad = "accord/at-rest/v1" || LF || purpose || LF || data_class || LF || epoch || LF || record

(LF is the byte 0x0A; no field may contain one),
so a ciphertext copied into another row, another epoch or another field does not open.
Destroying the epoch key makes every ciphertext of the epoch unreadable: that is how
retention deletes data that may survive in backups or free pages.

The local lookup tag ``HMAC-SHA256(lookup_key, "accord/read-lookup/v1" || 0x0A || plate)``
lets the node find a plate's reads in its own store. Its key never leaves the node; the
tag MUST NOT be sent to a peer (peers match only through the OPRF index)::

    box = seal(key, b"plate", "reads", 20100, "video:cam-1:abc:17", b"7ABC123")
    assert open_sealed(key, b"plate", "reads", 20100, "video:cam-1:abc:17", box) == b"7ABC123"
"""

from __future__ import annotations

import hashlib
import hmac

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.utils import random as random_bytes

from crypto.errors import AtRestError

KEY_SIZE = 32
NONCE_SIZE: int = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#: Bytes a sealed value adds to its plaintext: a version byte, the nonce and the tag.
OVERHEAD = 1 + NONCE_SIZE + 16
_VERSION = b"\x01"
_AD_DOMAIN = b"accord/at-rest/v1"
_LOOKUP_DOMAIN = b"accord/read-lookup/v1\n"


def _ad(purpose: bytes, data_class: str, epoch: int, record: str) -> bytes:
    parts = (_AD_DOMAIN, purpose, data_class.encode(), str(epoch).encode(), record.encode())
    if any(b"\n" in p for p in parts):
        raise ValueError("associated data fields must not contain a newline")
    return b"\n".join(parts)


def seal(
    key: bytes,
    purpose: bytes,
    data_class: str,
    epoch: int,
    record: str,
    plaintext: bytes,
    *,
    nonce: bytes | None = None,
) -> bytes:
    """Seal ``plaintext`` for field ``purpose`` of ``record`` in ``(data_class, epoch)``.

    ``nonce`` is for test vectors only; by default a fresh random 24-byte nonce is used
    (XChaCha's nonce is long enough that random nonces never collide in practice).
    """
    if len(key) != KEY_SIZE:
        raise ValueError("an at-rest key is 32 bytes")
    nonce = random_bytes(NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"the nonce must be {NONCE_SIZE} bytes")
    ad = _ad(purpose, data_class, epoch, record)
    return _VERSION + nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)


def open_sealed(
    key: bytes, purpose: bytes, data_class: str, epoch: int, record: str, sealed: bytes
) -> bytes:
    """Open a value made by :func:`seal`; raises :class:`AtRestError` on any mismatch."""
    if len(key) != KEY_SIZE or len(sealed) < OVERHEAD or sealed[:1] != _VERSION:
        raise AtRestError("sealed value does not open")
    nonce, body = sealed[1 : 1 + NONCE_SIZE], sealed[1 + NONCE_SIZE :]
    try:
        return crypto_aead_xchacha20poly1305_ietf_decrypt(
            body, _ad(purpose, data_class, epoch, record), nonce, key
        )
    except NaclCryptoError as e:
        raise AtRestError("sealed value does not open") from e


def plate_lookup(lookup_key: bytes, plate: str) -> bytes:
    """The node-local 32-byte lookup tag of a canonical plate string."""
    if len(lookup_key) != KEY_SIZE:
        raise ValueError("the lookup key is 32 bytes")
    return hmac.new(lookup_key, _LOOKUP_DOMAIN + plate.encode(), hashlib.sha256).digest()
