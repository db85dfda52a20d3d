"""Text encodings of the node's long-term secret and public keys.

Each secret is one line ``accord-<kind>-secret-v1:<base64>``: a typed prefix so a witness
key can never be loaded where a signing key is expected, and so a file holding one is
recognisable by humans and scanners. Public keys use the matching ``-public-v1`` prefix.
"""

from __future__ import annotations

import base64
import binascii
import enum

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.errors import KeyEncodingError


class KeyKind(enum.Enum):
    """What a key is for. Keys of different kinds are never interchangeable."""

    SIGNING = "ed25519-signing"
    LOG = "ed25519-log"
    WITNESS = "ed25519-witness"
    SEALING = "x25519-sealing"
    LOOKUP = "hmac-lookup"
    ACTOR = "hmac-actor"


_PREFIX = "accord-{kind}-{part}-v1:"


def _encode(kind: KeyKind, part: str, raw: bytes) -> str:
    return _PREFIX.format(kind=kind.value, part=part) + base64.b64encode(raw).decode("ascii")


def _decode(kind: KeyKind, part: str, text: str) -> bytes:
    prefix = _PREFIX.format(kind=kind.value, part=part)
    line = text.strip()
    if not line.startswith(prefix):
        raise KeyEncodingError(f"expected a {kind.value} {part} key")
    try:
        raw = base64.b64decode(line[len(prefix) :], validate=True)
    except binascii.Error as e:
        raise KeyEncodingError(f"{kind.value} {part} key is not valid base64") from e
    if len(raw) != 32:
        raise KeyEncodingError(f"{kind.value} {part} key must be 32 bytes")
    return raw


def encode_signing_secret(kind: KeyKind, key: SigningKey) -> str:
    """Encode an Ed25519 secret (its 32-byte seed) as a typed line."""
    if kind is KeyKind.SEALING:
        raise ValueError("sealing keys are X25519, not Ed25519")
    return _encode(kind, "secret", bytes(key))


def decode_signing_secret(kind: KeyKind, text: str) -> SigningKey:
    """Decode a typed Ed25519 secret line produced by :func:`encode_signing_secret`."""
    return SigningKey(_decode(kind, "secret", text))


def encode_sealing_secret(key: PrivateKey) -> str:
    """Encode an X25519 secret key as a typed line."""
    return _encode(KeyKind.SEALING, "secret", bytes(key))


def decode_sealing_secret(text: str) -> PrivateKey:
    """Decode a typed X25519 secret line produced by :func:`encode_sealing_secret`."""
    return PrivateKey(_decode(KeyKind.SEALING, "secret", text))


def encode_public(kind: KeyKind, raw: bytes) -> str:
    """Encode a 32-byte public key of ``kind`` as a typed line."""
    if len(raw) != 32:
        raise KeyEncodingError("public keys are 32 bytes")
    return _encode(kind, "public", raw)


def decode_public(kind: KeyKind, text: str) -> bytes:
    """Decode a typed public-key line to its 32 raw bytes."""
    return _decode(kind, "public", text)


def encode_symmetric_secret(kind: KeyKind, key: bytes) -> str:
    """Encode a 32-byte symmetric secret (an HMAC key) as a typed line."""
    if kind not in (KeyKind.LOOKUP, KeyKind.ACTOR) or len(key) != 32:
        raise KeyEncodingError("symmetric secrets are 32-byte lookup or actor keys")
    return _encode(kind, "secret", key)


def decode_symmetric_secret(kind: KeyKind, text: str) -> bytes:
    """Decode a typed symmetric secret line produced by :func:`encode_symmetric_secret`."""
    return _decode(kind, "secret", text)
