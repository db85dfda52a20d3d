"""C2SP signed notes (``signed-note``) and witness cosignatures (``tlog-cosignature``).

Byte-compatible with golang.org/x/mod/sumdb/note: a note is UTF-8 text ending in a
newline, then a blank line, then one line per signature::

    — <key name> base64(key id (4 bytes) || signature)

Key ids are ``SHA-256(name || 0x0A || type || public key)[:4]``. Two key types are used:

- ``0x01`` Ed25519: the log's signature over the note text;
- ``0x04`` cosignature/v1: a witness's Ed25519 signature over
  ``"cosignature/v1\\ntime <t>\\n" || checkpoint body``; the signature bytes are the 8-byte
  big-endian timestamp followed by the 64-byte Ed25519 signature.

Verification raises. Signatures by keys the verifier does not know are ignored; a
signature that claims a known key but does not verify is an error; a note needs at least
one signature from a known key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from crypto.errors import CryptoError

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_DASH = "\u2014"
MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100


class NoteError(CryptoError):
    """A note is malformed, unsigned by a known key, or carries a bad known signature."""


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """The 4-byte key id of ``name``'s key of type ``alg``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"invalid key name {name!r}")


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A public key that may sign notes: a log key (0x01) or a witness key (0x04)."""

    name: str
    alg: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, self.public_key)

    def vkey(self) -> str:
        """``name+hex(key id)+base64(type || public key)``, the signed-note vkey line."""
        blob = base64.b64encode(bytes([self.alg]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Parse a vkey line; raises :class:`NoteError` if malformed or inconsistent."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a vkey is name+keyid+base64(type||key)")
        name, hexid, blob = parts
        _check_name(name)
        try:
            raw = base64.b64decode(blob, validate=True)
            kid = bytes.fromhex(hexid)
        except (binascii.Error, ValueError) as e:
            raise NoteError("vkey is not valid hex/base64") from e
        if len(kid) != 4 or len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise NoteError("unsupported or malformed vkey")
        verifier = cls(name, raw[0], raw[1:])
        if verifier.key_id != kid:
            raise NoteError("vkey key id does not match its key")
        return verifier


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """An Ed25519 private key that signs notes under ``name`` (type 0x01)."""

    name: str
    key: SigningKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, ALG_ED25519, bytes(self.key.verify_key))

    def skey(self) -> str:
        """``PRIVATE+KEY+name+hex(id)+base64(0x01 || seed)``, as x/mod/sumdb/note writes it."""
        blob = base64.b64encode(bytes([ALG_ED25519]) + bytes(self.key)).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{blob}"

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("an skey is PRIVATE+KEY+name+keyid+base64(type||seed)")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except binascii.Error as e:
            raise NoteError("skey is not valid base64") from e
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("unsupported skey")
        signer = cls(parts[2], SigningKey(raw[1:]))
        if signer.verifier.key_id.hex() != parts[3]:
            raise NoteError("skey key id does not match its key")
        return signer

    def signature_line(self, text: bytes) -> str:
        sig = self.key.sign(text).signature
        return _line(self.name, self.verifier.key_id + sig)


@dataclass(frozen=True, slots=True)
class WitnessSigner:
    """A witness's Ed25519 key, cosigning checkpoints as cosignature/v1 (type 0x04)."""

    name: str
    key: SigningKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, ALG_COSIGNATURE_V1, bytes(self.key.verify_key))

    def cosign(self, checkpoint_body: bytes, timestamp: int) -> str:
        """The cosignature line for ``checkpoint_body`` at ``timestamp`` (Unix seconds)."""
        sig = self.key.sign(cosigned_message(checkpoint_body, timestamp)).signature
        return _line(self.name, self.verifier.key_id + struct.pack(">Q", timestamp) + sig)


def cosigned_message(checkpoint_body: bytes, timestamp: int) -> bytes:
    if not 0 <= timestamp < 2**63:
        raise NoteError("cosignature timestamp out of range")
    return b"cosignature/v1\ntime %d\n" % timestamp + checkpoint_body


def _line(name: str, blob: bytes) -> str:
    return f"{_DASH} {name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    blob: bytes  # after the key id

    def line(self) -> str:
        return _line(self.name, self.key_id + self.blob)


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text and its signature lines (unverified until :func:`open_note`)."""

    text: bytes
    signatures: tuple[Signature, ...]

    def encode(self) -> bytes:
        return self.text + b"\n" + "".join(s.line() for s in self.signatures).encode()


def _check_text(text: bytes) -> None:
    if not text.endswith(b"\n"):
        raise NoteError("note text must end in a newline")
    if b"\r" in text:
        raise NoteError("note text must not contain carriage returns")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NoteError("note text must be UTF-8") from e
    if any(ord(c) < 0x20 and c not in "\n\t" for c in decoded):
        raise NoteError("note text must not contain control characters")


def parse_note(data: bytes) -> Note:
    """Split a signed note into its text and signature lines (no verification)."""
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError("note too large")
    split = data.rfind(b"\n\n")
    if split < 0:
        raise NoteError("note has no signature block")
    text, block = data[: split + 1], data[split + 2 :]
    _check_text(text)
    if not block.endswith(b"\n"):
        raise NoteError("signature block must end in a newline")
    sigs: list[Signature] = []
    for raw_line in block[:-1].split(b"\n"):
        line = raw_line.decode("utf-8", "strict") if raw_line else ""
        prefix = _DASH + " "
        if not line.startswith(prefix):
            raise NoteError("malformed signature line")
        fields = line[len(prefix) :].split(" ")
        if len(fields) != 2:
            raise NoteError("malformed signature line")
        name, b64 = fields
        _check_name(name)
        try:
            blob = base64.b64decode(b64, validate=True)
        except binascii.Error as e:
            raise NoteError("signature is not valid base64") from e
        if len(blob) < 5:
            raise NoteError("signature too short")
        sigs.append(Signature(name, blob[:4], blob[4:]))
    if not sigs:
        raise NoteError("note has no signatures")
    if len(sigs) > MAX_SIGNATURES:
        raise NoteError("too many signatures")
    return Note(text, tuple(sigs))


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note with the known verifiers whose signatures checked out."""

    note: Note
    verified_by: tuple[NoteVerifier, ...]
    #: For cosignatures: the timestamp each witness signed, by witness name.
    cosigned_at: tuple[tuple[str, int], ...]


def _verify_one(verifier: NoteVerifier, text: bytes, blob: bytes) -> int | None:
    key = VerifyKey(verifier.public_key)
    try:
        if verifier.alg == ALG_ED25519:
            if len(blob) != 64:
                raise NoteError(f"bad signature length from {verifier.name}")
            key.verify(text, blob)
            return None
        if len(blob) != 72:
            raise NoteError(f"bad cosignature length from {verifier.name}")
        (timestamp,) = struct.unpack(">Q", blob[:8])
        key.verify(cosigned_message(text, timestamp), blob[8:])
        return int(timestamp)
    except BadSignatureError as e:
        raise NoteError(f"invalid signature by known key {verifier.name}") from e


def open_note(data: bytes, verifiers: Iterable[NoteVerifier]) -> VerifiedNote:
    """Parse and verify a note against ``verifiers``.

    Ignores signatures by unknown keys; raises :class:`NoteError` on a bad signature by a
    known key or when no known key signed.
    """
    note = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    ok: list[NoteVerifier] = []
    cosigned: list[tuple[str, int]] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        ts = _verify_one(verifier, note.text, sig.blob)
        if verifier not in ok:
            ok.append(verifier)
        if ts is not None:
            cosigned.append((verifier.name, ts))
    if not ok:
        raise NoteError("note is not signed by any known key")
    return VerifiedNote(note, tuple(ok), tuple(cosigned))


def sign_note(text: bytes, signers: Sequence[NoteSigner]) -> bytes:
    """Sign ``text`` with each signer; returns the signed note bytes."""
    _check_text(text)
    if not signers:
        raise NoteError("at least one signer is required")
    return text + b"\n" + "".join(s.signature_line(text) for s in signers).encode()


def add_signature_lines(note_bytes: bytes, lines: Iterable[str]) -> bytes:
    """Append signature lines (e.g. cosignatures) to a signed note, dropping duplicates."""
    note = parse_note(note_bytes)
    existing = {s.line() for s in note.signatures}
    extra = [ln for ln in lines if ln not in existing]
    for ln in extra:
        parse_note(note.text + b"\n" + ln.encode())  # each line must be well formed
        existing.add(ln)
    return note.encode() + "".join(dict.fromkeys(extra)).encode()
