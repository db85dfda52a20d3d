"""Relay envelopes: end-to-end sealed, sender-signed, replay-guarded (sans-IO).

A node that cannot accept connections is reached through the broker, which must forward
bytes it can neither read nor alter undetected. An envelope therefore carries:

- in the clear, only what routing needs: sender, recipient, a 16-byte envelope id and,
  for a reply, the id it answers (``in_reply_to``);
- a ciphertext: a libsodium sealed box (ephemeral X25519, XSalsa20-Poly1305) to the
  recipient's sealing key, whose plaintext starts with a copy of that header and the
  sender's clock, then the payload;
- an Ed25519 signature by the sender over a domain-separated, length-prefixed encoding
  of sender, recipient, envelope id, ``in_reply_to`` and ciphertext.

:func:`open_envelope` checks the address, then the signature, and only then decrypts. The
header copy inside the ciphertext stops a member who sees an envelope from re-signing it
as its own ("surreptitious forwarding"): the recipient refuses a ciphertext whose inner
header names another sender. Every failure an attacker could learn from (wrong
recipient, bad signature, undecryptable, inner mismatch) is the same opaque
:class:`~crypto.errors.EnvelopeError`.

Replay: :class:`ReplayGuard` remembers the ids it admitted within a time window and
refuses an id seen before or a sender clock outside the window. It is bounded: when full
it forgets the oldest id and from then on refuses anything not newer than it.
Clocks are arguments (``now_ms``), so all of this is deterministic to test.
"""

from __future__ import annotations

import heapq
import hmac
import struct
from dataclasses import dataclass, field

from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey

from crypto.errors import EnvelopeError, SignatureError
from crypto.sign import SIGNATURE_SIZE, sign, verify

ENVELOPE_DOMAIN = "accord/relay-envelope/v1"
ENVELOPE_ID_SIZE = 16
MAX_NAME_BYTES = 255
#: gRPC message limit of nodes and broker: a whole envelope must fit in one message.
TRANSPORT_LIMIT_BYTES = 4 * 1024 * 1024
#: Largest payload an envelope carries: the transport limit less room for the envelope.
MAX_PAYLOAD_BYTES = TRANSPORT_LIMIT_BYTES - 8 * 1024
#: libsodium's sealed box overhead (ephemeral public key and MAC).
SEAL_OVERHEAD = 48
_MAX_HEADER = 1 + MAX_NAME_BYTES + 1 + MAX_NAME_BYTES + ENVELOPE_ID_SIZE + 1 + ENVELOPE_ID_SIZE
_CLOCK = struct.Struct(">Q")
#: Largest ciphertext a well-formed envelope can have.
MAX_CIPHERTEXT_BYTES = MAX_PAYLOAD_BYTES + _MAX_HEADER + _CLOCK.size + SEAL_OVERHEAD
#: Upper bound of a serialized envelope (for transport limits): ciphertext, header, signature.
MAX_ENVELOPE_BYTES = MAX_CIPHERTEXT_BYTES + _MAX_HEADER + SIGNATURE_SIZE + 64

_OPAQUE = "sealed envelope does not open"


class EnvelopeSizeError(EnvelopeError):
    """A payload or ciphertext is larger than an envelope may carry."""


class EnvelopeReplayError(EnvelopeError):
    """An envelope id was seen before, or the sender's clock is outside the window."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """What crosses the broker (the fields of ``accord.v1.SealedEnvelope``)."""

    sender: str
    recipient: str
    envelope_id: bytes
    ciphertext: bytes
    signature: bytes
    #: Empty for a request; the request's ``envelope_id`` for its reply.
    in_reply_to: bytes = b""

    def check_shape(self) -> None:
        """Raise unless the public fields are well formed (sizes, name lengths, id sizes).

        A relay calls this before anything else: it needs no key and reveals nothing.
        """
        if len(self.ciphertext) > MAX_CIPHERTEXT_BYTES:
            raise EnvelopeSizeError(
                f"envelope ciphertext of {len(self.ciphertext)} bytes exceeds "
                f"{MAX_CIPHERTEXT_BYTES}"
            )
        _header(self.sender, self.recipient, self.envelope_id, self.in_reply_to)
        if len(self.signature) != SIGNATURE_SIZE:
            raise EnvelopeError("malformed envelope: the signature must be 64 bytes")


@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """A verified, decrypted envelope."""

    sender: str
    envelope_id: bytes
    in_reply_to: bytes
    #: The sender's clock when it sealed the envelope (ms since the epoch), authenticated.
    sent_ms: int
    payload: bytes


def _header(sender: str, recipient: str, envelope_id: bytes, in_reply_to: bytes) -> bytes:
    s, r = sender.encode(), recipient.encode()
    if not 0 < len(s) <= MAX_NAME_BYTES or not 0 < len(r) <= MAX_NAME_BYTES:
        raise EnvelopeError("malformed envelope: sender and recipient must be 1-255 bytes")
    if len(envelope_id) != ENVELOPE_ID_SIZE:
        raise EnvelopeError("malformed envelope: the envelope id must be 16 bytes")
    if len(in_reply_to) not in (0, ENVELOPE_ID_SIZE):
        raise EnvelopeError("malformed envelope: in_reply_to must be empty or 16 bytes")
    return b"".join(
        (
            bytes([len(s)]),
            s,
            bytes([len(r)]),
            r,
            envelope_id,
            bytes([len(in_reply_to)]),
            in_reply_to,
        )
    )


def _signed_body(header: bytes, ciphertext: bytes) -> bytes:
    return header + struct.pack(">I", len(ciphertext)) + ciphertext


def seal_envelope(
    payload: bytes,
    *,
    sender: str,
    sender_key: SigningKey,
    recipient: str,
    recipient_public: bytes,
    envelope_id: bytes,
    now_ms: int,
    in_reply_to: bytes = b"",
) -> Envelope:
    """Encrypt ``payload`` to ``recipient``'s X25519 key and sign the envelope as ``sender``.

    ``envelope_id`` MUST be fresh random bytes (16) per envelope: recipients refuse an id
    they have seen.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise EnvelopeSizeError(
            f"payload of {len(payload)} bytes exceeds the envelope limit of {MAX_PAYLOAD_BYTES}"
        )
    if not 0 <= now_ms < 2**64:
        raise ValueError("now_ms must fit in 64 bits")
    if len(recipient_public) != 32:
        raise EnvelopeError("the recipient's sealing key must be 32 bytes")
    header = _header(sender, recipient, envelope_id, in_reply_to)
    inner = header + _CLOCK.pack(now_ms) + payload
    ciphertext = bytes(SealedBox(PublicKey(recipient_public)).encrypt(inner))
    signature = sign(sender_key, ENVELOPE_DOMAIN, _signed_body(header, ciphertext))
    return Envelope(sender, recipient, envelope_id, ciphertext, signature, in_reply_to)


def verify_envelope_signature(envelope: Envelope, sender_public: bytes) -> None:
    """Check only the sender's signature (what a relay can check without any secret).

    Raises one opaque :class:`~crypto.errors.EnvelopeError` when it does not verify.
    """
    envelope.check_shape()
    header = _header(
        envelope.sender, envelope.recipient, envelope.envelope_id, envelope.in_reply_to
    )
    try:
        verify(
            sender_public,
            ENVELOPE_DOMAIN,
            _signed_body(header, envelope.ciphertext),
            envelope.signature,
        )
    except SignatureError as e:
        raise EnvelopeError(_OPAQUE) from e


def open_envelope(
    envelope: Envelope,
    *,
    recipient: str,
    recipient_key: PrivateKey,
    sender_public: bytes,
) -> OpenedEnvelope:
    """Verify and decrypt an envelope addressed to ``recipient`` from the holder of
    ``sender_public`` (the Ed25519 key the caller pinned for ``envelope.sender``).

    The signature is checked before any decryption. Raises :class:`EnvelopeSizeError` or
    a malformed-envelope :class:`EnvelopeError` for public defects, and one opaque
    :class:`EnvelopeError` for everything else. Replay is the caller's job
    (:class:`ReplayGuard`).
    """
    envelope.check_shape()
    if not hmac.compare_digest(envelope.recipient.encode(), recipient.encode()):
        raise EnvelopeError(_OPAQUE)
    verify_envelope_signature(envelope, sender_public)
    header = _header(
        envelope.sender, envelope.recipient, envelope.envelope_id, envelope.in_reply_to
    )
    try:
        inner = SealedBox(recipient_key).decrypt(envelope.ciphertext)
    except NaclCryptoError as e:
        raise EnvelopeError(_OPAQUE) from e
    prefix = len(header) + _CLOCK.size
    if len(inner) < prefix or not hmac.compare_digest(inner[: len(header)], header):
        raise EnvelopeError(_OPAQUE)
    (sent_ms,) = _CLOCK.unpack_from(inner, len(header))
    return OpenedEnvelope(
        sender=envelope.sender,
        envelope_id=envelope.envelope_id,
        in_reply_to=envelope.in_reply_to,
        sent_ms=sent_ms,
        payload=inner[prefix:],
    )


@dataclass(slots=True)
class ReplayGuard:
    """Refuses an envelope id seen before, or sealed outside ``[now - window, now + skew]``.

    Memory is bounded by ``capacity``: when full, the id with the oldest sender clock is
    forgotten and the guard's floor rises to that clock, so anything not newer than the
    floor is refused from then on (a forgotten id can never be replayed). A flood
    therefore narrows the window; it never opens it.

    The memory is not persisted: a recipient that restarts MUST pass its start time as
    ``not_before_ms``, so that nothing sealed before it (and possibly admitted by its
    previous run) is admitted again.
    """

    window_ms: int = 5 * 60 * 1000
    skew_ms: int = 60 * 1000
    capacity: int = 100_000
    not_before_ms: int = -1
    _seen: dict[tuple[str, bytes], int] = field(default_factory=dict)
    _by_time: list[tuple[int, str, bytes]] = field(default_factory=list)
    _floor_ms: int = -1

    def __post_init__(self) -> None:
        if self.window_ms <= 0 or self.skew_ms < 0 or self.capacity <= 0:
            raise ValueError("window and capacity must be positive, skew not negative")
        self._floor_ms = self.not_before_ms

    def admit(self, opened: OpenedEnvelope, *, now_ms: int) -> None:
        """Remember ``opened`` or raise :class:`EnvelopeReplayError`."""
        self._forget_before(now_ms - self.window_ms)
        sent = opened.sent_ms
        if sent < now_ms - self.window_ms or sent > now_ms + self.skew_ms:
            raise EnvelopeReplayError("envelope was sealed outside the accepted time window")
        if sent <= self._floor_ms:
            raise EnvelopeReplayError("envelope is older than the replay guard remembers")
        key = (opened.sender, opened.envelope_id)
        if key in self._seen:
            raise EnvelopeReplayError("envelope id was seen before (replay)")
        while len(self._seen) >= self.capacity:
            oldest, s, i = heapq.heappop(self._by_time)
            del self._seen[(s, i)]
            self._floor_ms = max(self._floor_ms, oldest)
        if sent <= self._floor_ms:
            raise EnvelopeReplayError("envelope is older than the replay guard remembers")
        self._seen[key] = sent
        heapq.heappush(self._by_time, (sent, opened.sender, opened.envelope_id))

    def _forget_before(self, cutoff_ms: int) -> None:
        while self._by_time and self._by_time[0][0] < cutoff_ms:
            _, s, i = heapq.heappop(self._by_time)
            del self._seen[(s, i)]

    def __len__(self) -> int:
        return len(self._seen)
