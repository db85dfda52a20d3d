"""C2SP signed notes and cosignatures against the public vectors, and the note rules."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from crypto.checkpoint import parse_checkpoint
from crypto.errors import (
    InvalidNoteError,
    KeyEncodingError,
    NoteKeyError,
    NoteSignatureError,
    SignatureError,
    UnverifiedNoteError,
)
from crypto.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    MAX_SIGNATURES,
    NoteError,
    NoteSigner,
    NoteVerifier,
    WitnessSigner,
    add_signature_lines,
    check_note_text,
    cosigned_message,
    key_id,
    open_note,
    parse_note,
    sign_note,
)

NOTES = Path(__file__).parents[2] / "vectors" / "signed-note"
LOG = NoteSigner.from_seed("example.org/log", b"\x06" * 32)
WITNESS = WitnessSigner.from_seed("example.org/witness", b"\x07" * 32)
BODY = b"example.org/log\n5\n" + base64.b64encode(b"\x11" * 32) + b"\n"


def read(name: str) -> bytes:
    return (NOTES / name).read_bytes()


def _resign(note: bytes, kid: bytes) -> bytes:
    """The note with its only signature line's key id replaced."""
    parsed = parse_note(note)
    (sig,) = parsed.signatures
    line = f"\u2014 {sig.name} {base64.b64encode(kid + sig.blob).decode()}\n"
    return parsed.text + b"\n" + line.encode()


# --- Vectors -----------------------------------------------------------------------------------


def test_c2sp_example_verifies() -> None:
    vkey = read("c2sp-signed-note-example.vkey").decode().strip()
    verifier = NoteVerifier.parse(vkey)
    assert (verifier.name, verifier.alg, verifier.key_id.hex()) == (
        "example.com/foo",
        ALG_ED25519,
        "530d903a",
    )
    assert verifier.vkey() == vkey
    opened = open_note(read("c2sp-signed-note-example.note"), [verifier])
    assert opened.text == b"This is an example message.\n"
    assert opened.verified_by == (verifier,)
    assert opened.cosigned_at == ()


def test_xmod_peterneumann_verifies_and_is_reproduced_byte_for_byte() -> None:
    signer = NoteSigner.from_skey(read("xmod-peterneumann.skey").decode())
    assert signer.skey() == read("xmod-peterneumann.skey").decode().strip()
    assert signer.verifier.vkey() == read("xmod-peterneumann.vkey").decode().strip()
    assert signer.verifier.key_id.hex() == "c74f20a3"
    note = read("xmod-peterneumann.note")
    opened = open_note(note, [NoteVerifier.parse(read("xmod-peterneumann.vkey").decode())])
    assert opened.text.startswith(b"If you think cryptography")
    assert sign_note(opened.text, [signer]) == note


def test_cosigned_checkpoint_vector() -> None:
    log_vkey, witness_vkey = read("lpr-test-checkpoint-cosigned.vkey").decode().splitlines()
    log, witness = NoteVerifier.parse(log_vkey), NoteVerifier.parse(witness_vkey)
    assert (log.alg, log.key_id.hex()) == (ALG_ED25519, "a87a365a")
    assert (witness.alg, witness.key_id.hex()) == (ALG_COSIGNATURE_V1, "a3fee844")
    note = read("lpr-test-checkpoint-cosigned.note")
    opened = open_note(note, [log, witness])
    assert opened.verified_by == (log, witness)
    assert opened.cosigned_at == (("lpr.example/node-b/witness", 1700000000),)
    cp = parse_checkpoint(opened.text)
    assert (cp.origin, cp.size) == ("lpr.example/node-a/ledger", 8)
    assert cp.root.hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    # The witness alone also verifies it, and the timestamp is refused before it was made.
    assert open_note(note, [witness]).verified_by == (witness,)
    open_note(note, [log, witness], now=1700000000)
    with pytest.raises(NoteSignatureError, match="future"):
        open_note(note, [log, witness], now=1699999999)


def test_cosignature_layout_is_timestamp_then_signature() -> None:
    line = WITNESS.cosign(BODY, 1_700_000_123)
    blob = base64.b64decode(line.split()[2])
    assert blob[:4] == WITNESS.verifier.key_id
    assert int.from_bytes(blob[4:12], "big") == 1_700_000_123
    message = b"cosignature/v1\ntime 1700000123\n" + BODY
    assert cosigned_message(BODY, 1_700_000_123) == message
    WITNESS.key.verify_key.verify(message, blob[12:])
    assert WITNESS.verifier.key_id == key_id(
        "example.org/witness", 0x04, bytes(WITNESS.key.verify_key)
    )


def test_key_id_is_sha256_of_name_newline_type_key() -> None:
    pub = bytes(LOG.key.verify_key)
    want = hashlib.sha256(b"example.org/log\n\x01" + pub).digest()[:4]
    assert LOG.verifier.key_id == key_id("example.org/log", 1, pub) == want


# --- Verification rules ------------------------------------------------------------------------


def test_unknown_keys_are_ignored_and_at_least_one_known_key_is_needed() -> None:
    stranger = NoteSigner.from_seed("example.org/other", b"\x04" * 32)
    note = sign_note(b"hello\n", [stranger, LOG])
    assert open_note(note, [LOG.verifier]).verified_by == (LOG.verifier,)
    with pytest.raises(UnverifiedNoteError, match="not signed by any known key"):
        open_note(note, [NoteVerifier("example.org/x", 1, bytes(32))])
    with pytest.raises(UnverifiedNoteError):
        open_note(note, [])


def test_same_name_other_key_id_is_just_unknown() -> None:
    impostor = NoteSigner.from_seed("example.org/log", b"\x05" * 32)
    note = sign_note(b"hello\n", [impostor, LOG])
    assert open_note(note, [LOG.verifier]).verified_by == (LOG.verifier,)


def test_a_bad_signature_by_a_known_key_fails_the_whole_note() -> None:
    impostor = NoteSigner.from_seed("example.org/log", b"\x05" * 32)
    forged = _resign(sign_note(b"hello\n", [impostor]), LOG.verifier.key_id)
    with pytest.raises(NoteSignatureError, match="invalid signature by known key"):
        open_note(forged, [LOG.verifier])
    good = sign_note(b"hello\n", [LOG])
    both = add_signature_lines(good, [parse_note(forged).signatures[0].line()])
    with pytest.raises(NoteSignatureError):
        open_note(both, [LOG.verifier])
    # The error is both a note error and a signature error.
    assert issubclass(NoteSignatureError, SignatureError)
    assert issubclass(NoteSignatureError, NoteError)


def test_wrong_signature_lengths_and_types_are_bad_signatures() -> None:
    note = sign_note(b"hello\n", [LOG])
    sig = parse_note(note).signatures[0]
    short = f"\u2014 {sig.name} {base64.b64encode(sig.key_id + sig.blob[:-1]).decode()}\n"
    with pytest.raises(NoteSignatureError):
        open_note(b"hello\n\n" + short.encode(), [LOG.verifier])
    # A cosignature line checked against an Ed25519 key of the same name and id fails too.
    cosig = WITNESS.cosign(b"hello\n", 1)
    as_log = NoteVerifier(WITNESS.name, ALG_COSIGNATURE_V1, bytes(WITNESS.key.verify_key))
    open_note(b"hello\n\n" + cosig.encode(), [as_log])
    with pytest.raises(UnverifiedNoteError):  # key id differs with the type: unknown
        open_note(
            b"hello\n\n" + cosig.encode(),
            [NoteVerifier(WITNESS.name, ALG_ED25519, bytes(WITNESS.key.verify_key))],
        )


def test_cosignature_round_trip_and_tamper() -> None:
    note = add_signature_lines(sign_note(BODY, [LOG]), [WITNESS.cosign(BODY, 1_800_000_000)])
    opened = open_note(note, [LOG.verifier, WITNESS.verifier])
    assert opened.cosigned_at == (("example.org/witness", 1_800_000_000),)
    with pytest.raises(NoteSignatureError):
        open_note(note.replace(b"\n5\n", b"\n6\n"), [LOG.verifier, WITNESS.verifier])
    # Changing the timestamp breaks the cosignature but not the log signature.
    blob = bytearray(base64.b64decode(note.splitlines()[-1].split()[2]))
    blob[11] ^= 1
    moved = note.rsplit(b" ", 1)[0] + b" " + base64.b64encode(bytes(blob)) + b"\n"
    open_note(moved, [LOG.verifier])
    with pytest.raises(NoteSignatureError):
        open_note(moved, [LOG.verifier, WITNESS.verifier])


def test_two_keys_with_one_name_and_key_id_are_refused() -> None:
    class Colliding(NoteVerifier):
        """A different key that claims the log's key id (a 4-byte id can collide)."""

        @property
        def key_id(self) -> bytes:
            return LOG.verifier.key_id

    note = sign_note(b"x\n", [LOG])
    open_note(note, [LOG.verifier, LOG.verifier])  # the same key twice is fine
    with pytest.raises(NoteKeyError, match="share the name and key id"):
        open_note(note, [LOG.verifier, Colliding(LOG.name, ALG_ED25519, b"\x01" * 32)])


def test_duplicate_lines_are_dropped_when_adding() -> None:
    note = sign_note(BODY, [LOG])
    line = WITNESS.cosign(BODY, 10)
    once = add_signature_lines(note, [line])
    assert add_signature_lines(once, [line, line]) == once
    assert once.startswith(note)
    with pytest.raises(InvalidNoteError):
        add_signature_lines(note, ["not a signature line\n"])
    with pytest.raises(InvalidNoteError):
        add_signature_lines(note, [line + line])


# --- Text and key rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        b"no final newline",
        b"carriage\r\nreturn\n",
        b"tab\tcharacter\n",
        b"nul\x00\n",
        b"\xff\xfe not utf-8\n",
        b"x" * (1 << 20) + b"\n",
    ],
)
def test_note_text_rules(text: bytes) -> None:
    with pytest.raises(InvalidNoteError):
        check_note_text(text)
    with pytest.raises(InvalidNoteError):
        sign_note(text, [LOG])


def test_text_may_hold_empty_lines_and_unicode() -> None:
    text = "Ognuno sta solo\n\ned è subito sera.\n".encode()
    note = sign_note(text, [LOG])
    assert open_note(note, [LOG.verifier]).text == text
    with pytest.raises(InvalidNoteError, match="signer"):
        sign_note(text, [])


@pytest.mark.parametrize(
    "data",
    [
        b"no signatures\n",
        b"text\n\n",
        b"text\n\nnot a signature line\n",
        b"text\r\n\n\xe2\x80\x94 a AAAAAAA=\n",
        b"text\n\n\xe2\x80\x94 a !!!\n",
        b"text\n\n\xe2\x80\x94 a AAAA\n",  # shorter than key id + 1 byte
        b"text\n\n\xe2\x80\x94 a\n",
        b"text\n\n\xe2\x80\x94 a \n",
        b"text\n\n\xe2\x80\x94 a+b AAAAAAA=\n",
        b"text\n\n\xe2\x80\x94 a AAAAAAA= extra\n",
        b"text\n\n\xe2\x80\x94 a AAAAAAA=",
        b"text\n\n\xe2\x80\x94 a AAAAAAA=\n\n",
        b"text\n\n\xe2\x80\x94 a AAAAAAA=\n\xe2\x80\x94 b \xff\n",
        b"text\t\n\n\xe2\x80\x94 a AAAAAAA=\n",
    ],
)
def test_malformed_notes(data: bytes) -> None:
    with pytest.raises(InvalidNoteError):
        parse_note(data)


def test_signature_count_limit() -> None:
    lines = [WITNESS.cosign(BODY, t) for t in range(MAX_SIGNATURES + 1)]
    note = sign_note(BODY, [LOG])
    with pytest.raises(InvalidNoteError, match="too many"):
        parse_note(note + "".join(lines).encode())
    with pytest.raises(InvalidNoteError, match="too many"):
        add_signature_lines(note, lines)
    # Sixteen (the spec's floor) and more are fine.
    ok = add_signature_lines(note, lines[:50])
    assert len(open_note(ok, [LOG.verifier, WITNESS.verifier]).cosigned_at) == 50


def test_vkey_errors() -> None:
    with pytest.raises(NoteKeyError):
        NoteVerifier.parse("name+00000000+AQ==")
    with pytest.raises(NoteKeyError, match="key id"):
        NoteVerifier.parse("PeterNeumann+00000000+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(NoteKeyError):
        NoteVerifier.parse("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(NoteKeyError):  # type 0x02 is not supported here
        NoteVerifier.parse("x+00000000+" + base64.b64encode(b"\x02" + bytes(32)).decode())
    with pytest.raises(NoteKeyError):
        NoteVerifier.parse("bad name+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode())
    with pytest.raises(NoteKeyError):
        NoteVerifier.parse("x+zzzzzzzz+" + base64.b64encode(b"\x01" + bytes(32)).decode())
    with pytest.raises(NoteKeyError):
        NoteVerifier.parse("x+00000000+not base64!")
    assert issubclass(NoteKeyError, KeyEncodingError)


def test_skey_errors() -> None:
    skey = read("xmod-peterneumann.skey").decode().strip()
    with pytest.raises(NoteKeyError):
        NoteSigner.from_skey(skey.replace("PRIVATE+KEY", "PUBLIC+KEY"))
    with pytest.raises(NoteKeyError, match="key id"):
        NoteSigner.from_skey(skey.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(NoteKeyError):
        NoteSigner.from_skey(
            "PRIVATE+KEY+x+00000000+" + base64.b64encode(b"\x04" + bytes(32)).decode()
        )
    with pytest.raises(NoteKeyError):
        NoteSigner.from_seed("x", b"short")


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "tab\tname", "new\nline"])
def test_invalid_key_names(name: str) -> None:
    with pytest.raises(NoteKeyError):
        NoteSigner(name, SigningKey(b"\x01" * 32))
    with pytest.raises(NoteKeyError):
        NoteVerifier(name, ALG_ED25519, bytes(32))


def test_verifier_fields_are_checked() -> None:
    with pytest.raises(NoteKeyError):
        NoteVerifier("x", 0x02, bytes(32))
    with pytest.raises(NoteKeyError):
        NoteVerifier("x", ALG_ED25519, bytes(31))


def test_cosignature_timestamp_range() -> None:
    WITNESS.cosign(BODY, 2**63 - 1)
    with pytest.raises(InvalidNoteError):
        WITNESS.cosign(BODY, 2**63)
    with pytest.raises(InvalidNoteError):
        WITNESS.cosign(BODY, -1)
    # A line claiming a timestamp past 2**63 - 1 is a bad cosignature.
    blob = WITNESS.verifier.key_id + (2**63).to_bytes(8, "big") + bytes(64)
    line = f"\u2014 {WITNESS.name} {base64.b64encode(blob).decode()}\n"
    with pytest.raises(NoteSignatureError):
        open_note(BODY + b"\n" + line.encode(), [WITNESS.verifier])
