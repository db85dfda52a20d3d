"""Relay envelopes: sealing, opening, tampering, misaddressing, replay and size limits."""

from __future__ import annotations

import dataclasses
import os

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.envelope import (
    ENVELOPE_ID_SIZE,
    MAX_CIPHERTEXT_BYTES,
    MAX_ENVELOPE_BYTES,
    MAX_PAYLOAD_BYTES,
    TRANSPORT_LIMIT_BYTES,
    Envelope,
    EnvelopeReplayError,
    EnvelopeSizeError,
    OpenedEnvelope,
    ReplayGuard,
    open_envelope,
    seal_envelope,
)
from crypto.errors import EnvelopeError

NOW_MS = 1_790_000_000_000
ALICE, BOB, MALLORY = "santa-monica-pd", "culver-city-pd", "mallory-pd"


@dataclasses.dataclass
class Party:
    name: str
    signing: SigningKey = dataclasses.field(default_factory=SigningKey.generate)
    sealing: PrivateKey = dataclasses.field(default_factory=PrivateKey.generate)

    @property
    def verify_key(self) -> bytes:
        return bytes(self.signing.verify_key)

    @property
    def sealing_public(self) -> bytes:
        return bytes(self.sealing.public_key)


@pytest.fixture
def alice() -> Party:
    return Party(ALICE)


@pytest.fixture
def bob() -> Party:
    return Party(BOB)


def seal_to(
    sender: Party,
    recipient: Party,
    payload: bytes = b"relayed call",
    *,
    in_reply_to: bytes = b"",
    now_ms: int = NOW_MS,
) -> Envelope:
    return seal_envelope(
        payload,
        sender=sender.name,
        sender_key=sender.signing,
        recipient=recipient.name,
        recipient_public=recipient.sealing_public,
        envelope_id=os.urandom(ENVELOPE_ID_SIZE),
        now_ms=now_ms,
        in_reply_to=in_reply_to,
    )


def open_as(recipient: Party, envelope: Envelope, sender: Party) -> OpenedEnvelope:
    return open_envelope(
        envelope,
        recipient=recipient.name,
        recipient_key=recipient.sealing,
        sender_public=sender.verify_key,
    )


def test_a_sealed_envelope_opens_for_its_recipient_only(alice: Party, bob: Party) -> None:
    envelope = seal_to(alice, bob, b"hello")
    opened = open_as(bob, envelope, alice)
    assert opened.payload == b"hello"
    assert opened.sender == ALICE and opened.envelope_id == envelope.envelope_id
    assert opened.sent_ms == NOW_MS and opened.in_reply_to == b""
    assert b"hello" not in envelope.ciphertext


def test_a_reply_carries_the_request_id(alice: Party, bob: Party) -> None:
    request = seal_to(alice, bob)
    reply = seal_to(bob, alice, b"answer", in_reply_to=request.envelope_id)
    opened = open_as(alice, reply, bob)
    assert opened.in_reply_to == request.envelope_id and opened.payload == b"answer"


@pytest.mark.parametrize(
    "change",
    [
        {"sender": MALLORY},
        {"recipient": MALLORY},
        {"envelope_id": bytes(ENVELOPE_ID_SIZE)},
        {"in_reply_to": bytes(ENVELOPE_ID_SIZE)},
        {"ciphertext": b"flip"},
        {"signature": bytes(64)},
    ],
    ids=lambda c: next(iter(c)),
)
def test_tampering_with_any_field_is_one_opaque_error(
    alice: Party, bob: Party, change: dict[str, object]
) -> None:
    envelope = seal_to(alice, bob)
    if change.get("ciphertext") == b"flip":
        flipped = bytearray(envelope.ciphertext)
        flipped[-1] ^= 1
        change = {"ciphertext": bytes(flipped)}
    tampered = dataclasses.replace(envelope, **change)  # type: ignore[arg-type]
    with pytest.raises(EnvelopeError) as raised:
        open_as(bob, tampered, alice)
    assert type(raised.value) is EnvelopeError
    assert str(raised.value) == "sealed envelope does not open"


def test_a_wrong_recipient_or_wrong_signer_is_refused(alice: Party, bob: Party) -> None:
    mallory = Party(MALLORY)
    to_bob = seal_to(alice, bob)
    with pytest.raises(EnvelopeError, match="does not open"):
        open_as(mallory, to_bob, alice)  # addressed to someone else
    with pytest.raises(EnvelopeError, match="does not open"):
        # Mallory holds Bob's envelope but not his key: renaming it does not help.
        open_envelope(
            dataclasses.replace(to_bob, recipient=MALLORY),
            recipient=MALLORY,
            recipient_key=mallory.sealing,
            sender_public=alice.verify_key,
        )
    forged = seal_envelope(
        b"forged",
        sender=ALICE,  # claims to be Alice, signs with Mallory's key
        sender_key=mallory.signing,
        recipient=BOB,
        recipient_public=bob.sealing_public,
        envelope_id=os.urandom(ENVELOPE_ID_SIZE),
        now_ms=NOW_MS,
    )
    with pytest.raises(EnvelopeError, match="does not open"):
        open_as(bob, forged, alice)


def test_a_member_cannot_resign_anothers_ciphertext_as_its_own(alice: Party, bob: Party) -> None:
    """Surreptitious forwarding: Mallory re-signs Alice's ciphertext under her own name."""
    from crypto.envelope import ENVELOPE_DOMAIN, _header, _signed_body
    from crypto.sign import sign

    mallory = Party(MALLORY)
    original = seal_to(alice, bob, b"alice's query")
    header = _header(MALLORY, BOB, original.envelope_id, b"")
    resigned = dataclasses.replace(
        original,
        sender=MALLORY,
        signature=sign(mallory.signing, ENVELOPE_DOMAIN, _signed_body(header, original.ciphertext)),
    )
    with pytest.raises(EnvelopeError, match="does not open"):
        open_as(bob, resigned, mallory)


def test_size_limits(alice: Party, bob: Party) -> None:
    with pytest.raises(EnvelopeSizeError, match="exceeds"):
        seal_to(alice, bob, bytes(MAX_PAYLOAD_BYTES + 1))
    big = dataclasses.replace(seal_to(alice, bob), ciphertext=bytes(MAX_CIPHERTEXT_BYTES + 1))
    with pytest.raises(EnvelopeSizeError):
        big.check_shape()
    with pytest.raises(EnvelopeSizeError):
        open_as(bob, big, alice)
    assert len(seal_to(alice, bob, bytes(MAX_PAYLOAD_BYTES)).ciphertext) <= MAX_CIPHERTEXT_BYTES
    # Any well-formed envelope fits in one gRPC message of the nodes' and broker's limit.
    assert MAX_ENVELOPE_BYTES <= TRANSPORT_LIMIT_BYTES


@pytest.mark.parametrize(
    "change",
    [
        {"sender": ""},
        {"recipient": "x" * 256},
        {"envelope_id": b"short"},
        {"in_reply_to": b"short"},
        {"signature": b"short"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_malformed_headers_are_refused_before_any_key_is_used(
    alice: Party, bob: Party, change: dict[str, object]
) -> None:
    envelope = dataclasses.replace(seal_to(alice, bob), **change)  # type: ignore[arg-type]
    with pytest.raises(EnvelopeError, match="malformed envelope"):
        envelope.check_shape()


def test_sealing_refuses_bad_arguments(alice: Party, bob: Party) -> None:
    with pytest.raises(EnvelopeError, match="16 bytes"):
        seal_envelope(
            b"x",
            sender=ALICE,
            sender_key=alice.signing,
            recipient=BOB,
            recipient_public=bob.sealing_public,
            envelope_id=b"1234",
            now_ms=NOW_MS,
        )
    with pytest.raises(EnvelopeError, match="sealing key"):
        seal_envelope(
            b"x",
            sender=ALICE,
            sender_key=alice.signing,
            recipient=BOB,
            recipient_public=b"short",
            envelope_id=os.urandom(16),
            now_ms=NOW_MS,
        )


def opened(
    sender: str = ALICE, *, sent_ms: int = NOW_MS, eid: bytes | None = None
) -> OpenedEnvelope:
    return OpenedEnvelope(sender, eid or os.urandom(16), b"", sent_ms, b"")


def test_the_replay_guard_refuses_a_seen_id_and_stale_or_future_clocks() -> None:
    guard = ReplayGuard(window_ms=60_000, skew_ms=5_000, capacity=10)
    first = opened()
    guard.admit(first, now_ms=NOW_MS)
    with pytest.raises(EnvelopeReplayError, match="seen before"):
        guard.admit(first, now_ms=NOW_MS + 1)
    # The same id from another sender is another envelope.
    guard.admit(opened(MALLORY, eid=first.envelope_id), now_ms=NOW_MS)
    with pytest.raises(EnvelopeReplayError, match="window"):
        guard.admit(opened(sent_ms=NOW_MS - 60_001), now_ms=NOW_MS)
    with pytest.raises(EnvelopeReplayError, match="window"):
        guard.admit(opened(sent_ms=NOW_MS + 5_001), now_ms=NOW_MS)
    # Past the window the id is forgotten, and the envelope is refused as stale instead.
    with pytest.raises(EnvelopeReplayError, match="window"):
        guard.admit(first, now_ms=NOW_MS + 60_001)
    assert len(guard) == 0


def test_a_full_replay_guard_narrows_its_window_and_never_readmits() -> None:
    guard = ReplayGuard(window_ms=60_000, skew_ms=5_000, capacity=3)
    envelopes = [opened(sent_ms=NOW_MS + i) for i in range(4)]
    for e in envelopes:
        guard.admit(e, now_ms=NOW_MS + 10)
    assert len(guard) == 3
    # The oldest was forgotten to make room; replaying it is still refused.
    with pytest.raises(EnvelopeReplayError, match="older than"):
        guard.admit(envelopes[0], now_ms=NOW_MS + 10)
    with pytest.raises(EnvelopeReplayError, match="seen before"):
        guard.admit(envelopes[3], now_ms=NOW_MS + 10)
    guard.admit(opened(sent_ms=NOW_MS + 9), now_ms=NOW_MS + 10)


def test_a_restarted_guard_admits_nothing_sealed_before_it_started() -> None:
    guard = ReplayGuard(not_before_ms=NOW_MS)
    with pytest.raises(EnvelopeReplayError, match="older than"):
        guard.admit(opened(sent_ms=NOW_MS - 1), now_ms=NOW_MS + 1)
    guard.admit(opened(sent_ms=NOW_MS + 1), now_ms=NOW_MS + 1)


def test_the_replay_guard_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="positive"):
        ReplayGuard(capacity=0)
