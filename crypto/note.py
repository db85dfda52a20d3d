"""C2SP signed notes (``signed-note``) and witness cosignatures (``tlog-cosignature``).

Byte-compatible with golang.org/x/mod/sumdb/note. A signed note is::

    <text: UTF-8, ends in a newline>
    <blank line>
    — <key name> base64(key id (4 bytes) || signature)      one line per signature

The whole note MUST be UTF-8 without control characters other than newline; key names
are non-empty, without spaces or ``+``. Key ids are ``SHA-256(name || 0x0A || type ||
public key)[:4]``. Two signature types are supported:

- ``0x01`` Ed25519: the log's signature over the note text;
- ``0x04`` cosignature/v1: a witness's Ed25519 signature over
  ``"cosignature/v1\\ntime <t>\\n" || checkpoint body``, written as the 8-byte big-endian
  timestamp ``t`` followed by the 64-byte signature.

Keys travel as text: ``name+hex(key id)+base64(type || public key)`` (vkey) and
``PRIVATE+KEY+name+hex(key id)+base64(type || seed)`` (skey, type 0x01 only).

Verification raises (:class:`InvalidNoteError` and its subclasses). Signatures by keys
the verifier does not know (name *and* key id) are ignored; every signature by a known
key MUST verify, or the note is rejected; at least one known key MUST have signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.exceptions import ValueError as NaclValueError
from nacl.signing import SigningKey, VerifyKey

from crypto.errors import (
    InvalidNoteError,
    NoteKeyError,
    NoteSignatureError,
    UnverifiedNoteError,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Note",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "Signature",
    "VerifiedNote",
    "WitnessSigner",
    "add_signature_lines",
    "check_note_text",
    "cosigned_message",
    "key_id",
    "open_note",
    "parse_note",
    "sign_note",
]

#: The name callers have long imported from here.
NoteError = InvalidNoteError

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_KNOWN_ALGS = (ALG_ED25519, ALG_COSIGNATURE_V1)
#: Notes larger than this are refused before any parsing.
MAX_NOTE_BYTES = 1 << 20
#: Signature lines per note (the spec asks to accept at least 16; Go stops at 100).
MAX_SIGNATURES = 100
_MAX_TIMESTAMP = 2**63 - 1
_SIG_PREFIX = "\u2014 "  # em dash, space
_HEX_ID = re.compile(r"[0-9a-fA-F]{8}")
# Any C0 control character but newline, or an unpaired surrogate smuggled in by a caller.
_BAD_TEXT = re.compile(r"[\x00-\x09\x0b-\x1f\ud800-\udfff]")


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """The 4-byte key id of ``name``'s key of type ``alg``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name) or _BAD_TEXT.search(name):
        raise NoteKeyError(f"invalid key name {name!r}: empty, or has spaces or '+'")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise NoteKeyError(f"{what} is not valid base64") from e


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A public key that may sign notes: a log key (0x01) or a witness key (0x04)."""

    name: str
    alg: int
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.alg not in _KNOWN_ALGS:
            raise NoteKeyError(f"unsupported key type 0x{self.alg:02x}")
        if len(self.public_key) != 32:
            raise NoteKeyError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, self.public_key)

    def vkey(self) -> str:
        """``name+hex(key id)+base64(type || public key)``, the signed-note vkey line."""
        blob = base64.b64encode(bytes([self.alg]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Parse a vkey (surrounding whitespace ignored); raises :class:`NoteKeyError`."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or not _HEX_ID.fullmatch(parts[1]):
            raise NoteKeyError("a vkey is name+keyid+base64(type||key)")
        name, hexid, blob = parts
        raw = _b64decode(blob, "vkey key")
        if len(raw) != 33:
            raise NoteKeyError("unsupported or malformed vkey")
        verifier = cls(name, raw[0], raw[1:])
        if verifier.key_id != bytes.fromhex(hexid):
            raise NoteKeyError("vkey key id does not match its key")
        return verifier


def _line(name: str, blob: bytes) -> str:
    return f"{_SIG_PREFIX}{name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """An Ed25519 private key that signs notes under ``name`` (type 0x01)."""

    name: str
    key: SigningKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> NoteSigner:
        """The signer for a 32-byte Ed25519 seed (draw it with ``os.urandom(32)``)."""
        if len(seed) != 32:
            raise NoteKeyError("an Ed25519 seed is 32 bytes")
        return cls(name, SigningKey(seed))

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, ALG_ED25519, bytes(self.key.verify_key))

    def skey(self) -> str:
        """``PRIVATE+KEY+name+hex(id)+base64(0x01 || seed)``, as x/mod/sumdb/note writes it."""
        blob = base64.b64encode(bytes([ALG_ED25519]) + bytes(self.key)).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{blob}"

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse an skey; the key id MUST match the key derived from the seed."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not _HEX_ID.fullmatch(parts[3]):
            raise NoteKeyError("an skey is PRIVATE+KEY+name+keyid+base64(type||seed)")
        raw = _b64decode(parts[4], "skey key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteKeyError("unsupported or malformed skey")
        signer = cls.from_seed(parts[2], raw[1:])
        if signer.verifier.key_id != bytes.fromhex(parts[3]):
            raise NoteKeyError("skey key id does not match its key")
        return signer

    def signature_line(self, text: bytes) -> str:
        """The signature line of this key over note ``text``."""
        check_note_text(text)
        sig = self.key.sign(text).signature
        return _line(self.name, self.verifier.key_id + sig)


def cosigned_message(checkpoint_body: bytes, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, time line, then the checkpoint body."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise InvalidNoteError("cosignature timestamp out of range")
    return b"cosignature/v1\ntime %d\n" % timestamp + checkpoint_body


@dataclass(frozen=True, slots=True)
class WitnessSigner:
    """A witness's Ed25519 key, cosigning checkpoints as cosignature/v1 (type 0x04).

    Use a key for nothing else: the signed message does not name the witness.
    """

    name: str
    key: SigningKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> WitnessSigner:
        if len(seed) != 32:
            raise NoteKeyError("an Ed25519 seed is 32 bytes")
        return cls(name, SigningKey(seed))

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, ALG_COSIGNATURE_V1, bytes(self.key.verify_key))

    def cosign(self, checkpoint_body: bytes, timestamp: int) -> str:
        """The cosignature line for ``checkpoint_body`` at ``timestamp`` (Unix seconds)."""
        check_note_text(checkpoint_body)
        sig = self.key.sign(cosigned_message(checkpoint_body, timestamp)).signature
        return _line(self.name, self.verifier.key_id + struct.pack(">Q", timestamp) + sig)


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line of a note: key name, key id and the signature bytes after it."""

    name: str
    key_id: bytes
    blob: bytes

    def line(self) -> str:
        return _line(self.name, self.key_id + self.blob)


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text and its signature lines, parsed but not verified."""

    text: bytes
    signatures: tuple[Signature, ...]

    def encode(self) -> bytes:
        return self.text + b"\n" + "".join(s.line() for s in self.signatures).encode()


def check_note_text(text: bytes) -> None:
    """Raise unless ``text`` can be a note's text: UTF-8, no control characters but
    newline (so no ``\\r`` or tab), ending in a newline, within the size limit."""
    if len(text) > MAX_NOTE_BYTES:
        raise InvalidNoteError("note too large")
    if not text.endswith(b"\n"):
        raise InvalidNoteError("note text must end in a newline")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidNoteError("note text must be UTF-8") from e
    if _BAD_TEXT.search(decoded):
        raise InvalidNoteError("note text must not contain control characters but newline")


def parse_note(data: bytes) -> Note:
    """Split a signed note into its text and signature lines; verifies nothing."""
    if len(data) > MAX_NOTE_BYTES:
        raise InvalidNoteError("note too large")
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidNoteError("note must be UTF-8") from e
    if _BAD_TEXT.search(decoded):
        raise InvalidNoteError("note must not contain control characters but newline")
    split = decoded.rfind("\n\n")
    if split < 0:
        raise InvalidNoteError("note has no signature block")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block.endswith("\n"):
        raise InvalidNoteError("note has no signature lines, or they do not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidNoteError("too many signatures")
    sigs: list[Signature] = []
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise InvalidNoteError("malformed signature line")
        name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep or not b64:
            raise InvalidNoteError("malformed signature line")
        try:
            _check_name(name)
            blob = base64.b64decode(b64, validate=True)
        except (NoteKeyError, binascii.Error, ValueError) as e:
            raise InvalidNoteError("malformed signature line") from e
        if len(blob) < 5:
            raise InvalidNoteError("signature too short")
        sigs.append(Signature(name, blob[:4], blob[4:]))
    return Note(text.encode("utf-8"), tuple(sigs))


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note with the known verifiers whose signatures checked out."""

    note: Note
    verified_by: tuple[NoteVerifier, ...]
    #: ``(witness name, timestamp)`` of each verified cosignature/v1, in note order.
    cosigned_at: tuple[tuple[str, int], ...]

    @property
    def text(self) -> bytes:
        return self.note.text


def _verify_one(verifier: NoteVerifier, text: bytes, blob: bytes, now: int | None) -> int | None:
    """Verify one signature by a known key; the cosignature timestamp, if it is one."""
    key = VerifyKey(verifier.public_key)
    bad = NoteSignatureError(f"invalid signature by known key {verifier.name}")
    if verifier.alg == ALG_ED25519:
        message, sig, timestamp = text, blob, None
        if len(blob) != 64:
            raise bad
    else:
        if len(blob) != 72:
            raise bad
        (timestamp,) = struct.unpack(">Q", blob[:8])
        if timestamp > _MAX_TIMESTAMP:
            raise bad
        if now is not None and timestamp > now:
            raise NoteSignatureError(f"cosignature by {verifier.name} is from the future")
        message, sig = cosigned_message(text, timestamp), blob[8:]
    try:
        key.verify(message, sig)
    except (BadSignatureError, NaclValueError) as e:
        raise bad from e
    return timestamp


def open_note(
    data: bytes, verifiers: Iterable[NoteVerifier], *, now: int | None = None
) -> VerifiedNote:
    """Parse ``data`` and verify it against ``verifiers``.

    Signatures by unknown keys are ignored. Raises :class:`NoteSignatureError` if a
    signature by a known key fails (or, with ``now`` in Unix seconds, is a cosignature
    from the future), :class:`UnverifiedNoteError` if no known key signed, and
    :class:`InvalidNoteError` if the note is malformed.
    """
    note = parse_note(data)
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for v in verifiers:
        if known.setdefault((v.name, v.key_id), v) != v:
            raise NoteKeyError(f"two different keys share the name and key id of {v.name}")
    ok: list[NoteVerifier] = []
    cosigned: list[tuple[str, int]] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        timestamp = _verify_one(verifier, note.text, sig.blob, now)
        if verifier not in ok:
            ok.append(verifier)
        if timestamp is not None and (verifier.name, timestamp) not in cosigned:
            cosigned.append((verifier.name, timestamp))
    if not ok:
        raise UnverifiedNoteError("note is not signed by any known key")
    return VerifiedNote(note, tuple(ok), tuple(cosigned))


def sign_note(text: bytes, signers: Sequence[NoteSigner]) -> bytes:
    """Sign ``text`` with each signer; returns the signed note."""
    check_note_text(text)
    if not signers:
        raise InvalidNoteError("at least one signer is required")
    return text + b"\n" + "".join(s.signature_line(text) for s in signers).encode()


def add_signature_lines(note_bytes: bytes, lines: Iterable[str]) -> bytes:
    """Append signature lines (e.g. cosignatures) to a signed note, dropping duplicates.

    Checks the form of each line, not its signature: open the result to verify it.
    """
    note = parse_note(note_bytes)
    existing = {s.line() for s in note.signatures}
    extra: list[str] = []
    for ln in lines:
        if ln in existing:
            continue
        parsed = parse_note(b"x\n\n" + ln.encode())
        if len(parsed.signatures) != 1 or parsed.signatures[0].line() != ln:
            raise InvalidNoteError("not a single, canonically encoded signature line")
        existing.add(ln)
        extra.append(ln)
    if len(note.signatures) + len(extra) > MAX_SIGNATURES:
        raise InvalidNoteError("too many signatures")
    return note_bytes + "".join(extra).encode()
