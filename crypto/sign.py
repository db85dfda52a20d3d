"""Domain-separated Ed25519 signatures over canonical bytes.

Every signed object in Accord is signed as ``DOMAIN || 0x0A || body`` with a domain tag
naming what the bytes are (``accord/hit-query/v1``, ``accord/agreement/v1``, ...), so a
signature made for one purpose can never be replayed as another.
"""

from __future__ import annotations

import re

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from crypto.errors import SignatureError

_DOMAIN_RE = re.compile(r"^accord/[a-z0-9.-]+/v[0-9]+$")

SIGNATURE_SIZE = 64


def _message(domain: str, body: bytes) -> bytes:
    if not _DOMAIN_RE.match(domain):
        raise ValueError(f"bad signature domain {domain!r}")
    return domain.encode("ascii") + b"\n" + body


def sign(key: SigningKey, domain: str, body: bytes) -> bytes:
    """Sign ``body`` for ``domain``; returns the 64-byte signature."""
    return key.sign(_message(domain, body)).signature


def verify(public_key: bytes, domain: str, body: bytes, signature: bytes) -> None:
    """Check a signature made by :func:`sign`; raises :class:`SignatureError` if invalid."""
    if len(public_key) != 32 or len(signature) != SIGNATURE_SIZE:
        raise SignatureError(f"invalid {domain} signature")
    try:
        VerifyKey(public_key).verify(_message(domain, body), signature)
    except BadSignatureError as e:
        raise SignatureError(f"invalid {domain} signature") from e
