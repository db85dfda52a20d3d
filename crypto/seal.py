"""End-to-end sealed envelopes for relayed traffic.

A node that cannot accept connections is reached through the broker. The broker must
forward bytes it cannot read or alter undetected, so each payload is encrypted to the
recipient's X25519 key with an ephemeral key (libsodium sealed box) and the whole envelope
is signed by the sender's Ed25519 signing key. The signature binds sender, recipient and
a unique envelope id, so the broker cannot redirect or replay it to another node
unnoticed (replay of the same id is the recipient's job to refuse).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey

from crypto.errors import EnvelopeError, SignatureError
from crypto.sign import sign, verify

ENVELOPE_DOMAIN = "accord/sealed-envelope/v1"
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class SealedEnvelope:
    """What crosses the broker: names in the clear (it must route), the rest sealed."""

    sender: str
    recipient: str
    envelope_id: bytes
    ciphertext: bytes
    signature: bytes


def _signed_body(sender: str, recipient: str, envelope_id: bytes, ciphertext: bytes) -> bytes:
    s, r = sender.encode(), recipient.encode()
    if len(s) > MAX_NAME or len(r) > MAX_NAME or len(envelope_id) != 16:
        raise EnvelopeError("malformed envelope header")
    return b"".join(
        (struct.pack(">B", len(s)), s, struct.pack(">B", len(r)), r, envelope_id, ciphertext)
    )


def seal(
    payload: bytes,
    *,
    sender: str,
    sender_key: SigningKey,
    recipient: str,
    recipient_public: bytes,
    envelope_id: bytes,
) -> SealedEnvelope:
    """Encrypt ``payload`` to ``recipient`` and sign the envelope as ``sender``."""
    ciphertext = SealedBox(PublicKey(recipient_public)).encrypt(payload)
    signature = sign(
        sender_key, ENVELOPE_DOMAIN, _signed_body(sender, recipient, envelope_id, ciphertext)
    )
    return SealedEnvelope(sender, recipient, envelope_id, bytes(ciphertext), signature)


def open_envelope(
    envelope: SealedEnvelope,
    *,
    recipient: str,
    recipient_key: PrivateKey,
    sender_public: bytes,
) -> bytes:
    """Verify the sender's signature and that it is addressed to us, then decrypt."""
    if envelope.recipient != recipient:
        raise EnvelopeError("envelope is addressed to another node")
    body = _signed_body(
        envelope.sender, envelope.recipient, envelope.envelope_id, envelope.ciphertext
    )
    try:
        verify(sender_public, ENVELOPE_DOMAIN, body, envelope.signature)
    except SignatureError as e:
        raise EnvelopeError("envelope signature does not verify") from e
    try:
        return SealedBox(recipient_key).decrypt(envelope.ciphertext)
    except NaclCryptoError as e:
        raise EnvelopeError("envelope cannot be decrypted") from e
