from __future__ import annotations

import os

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.errors import EnvelopeError, SignatureError
from crypto.seal import SealedEnvelope, open_envelope, seal
from crypto.sign import sign, verify


def test_sign_verify_and_domain_separation() -> None:
    key = SigningKey.generate()
    sig = sign(key, "accord/hit-query/v1", b"body")
    verify(bytes(key.verify_key), "accord/hit-query/v1", b"body", sig)
    with pytest.raises(SignatureError):
        verify(bytes(key.verify_key), "accord/agreement/v1", b"body", sig)
    with pytest.raises(SignatureError):
        verify(bytes(key.verify_key), "accord/hit-query/v1", b"bodY", sig)
    with pytest.raises(SignatureError):
        verify(bytes(key.verify_key), "accord/hit-query/v1", b"body", sig[:10])
    with pytest.raises(ValueError, match="domain"):
        sign(key, "not a domain", b"x")


def _envelope() -> tuple[SealedEnvelope, SigningKey, PrivateKey]:
    sender_key = SigningKey.generate()
    recipient_key = PrivateKey.generate()
    env = seal(
        b"payload",
        sender="alpha",
        sender_key=sender_key,
        recipient="bravo",
        recipient_public=bytes(recipient_key.public_key),
        envelope_id=os.urandom(16),
    )
    return env, sender_key, recipient_key


def test_envelope_round_trip_and_broker_cannot_read() -> None:
    env, sender_key, recipient_key = _envelope()
    assert b"payload" not in env.ciphertext
    out = open_envelope(
        env,
        recipient="bravo",
        recipient_key=recipient_key,
        sender_public=bytes(sender_key.verify_key),
    )
    assert out == b"payload"


@pytest.mark.parametrize(
    "field",
    ["recipient", "sender", "envelope_id", "ciphertext", "signature"],
)
def test_envelope_tampering_is_refused(field: str) -> None:
    env, sender_key, recipient_key = _envelope()
    value = getattr(env, field)
    if isinstance(value, str):
        changed: object = "charlie"
    else:
        changed = bytes([value[0] ^ 1]) + value[1:]
    forged = SealedEnvelope(**{**{f: getattr(env, f) for f in env.__slots__}, field: changed})
    with pytest.raises(EnvelopeError):
        open_envelope(
            forged,
            recipient="bravo",
            recipient_key=recipient_key,
            sender_public=bytes(sender_key.verify_key),
        )
