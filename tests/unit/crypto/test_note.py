"""C2SP signed notes, checkpoints and cosignatures against the public vectors."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey

from crypto.checkpoint import Checkpoint, CheckpointError, parse_checkpoint
from crypto.note import (
    NoteError,
    NoteSigner,
    NoteVerifier,
    WitnessSigner,
    add_signature_lines,
    open_note,
    parse_note,
    sign_note,
)

NOTES = Path(__file__).parents[2] / "vectors" / "signed-note"


def read(name: str) -> bytes:
    return (NOTES / name).read_bytes()


def test_c2sp_example_verifies() -> None:
    verifier = NoteVerifier.parse(read("c2sp-signed-note-example.vkey").decode())
    assert verifier.vkey() == read("c2sp-signed-note-example.vkey").decode().strip()
    opened = open_note(read("c2sp-signed-note-example.note"), [verifier])
    assert opened.note.text == b"This is an example message.\n"


def test_xmod_signature_is_reproduced_byte_for_byte() -> None:
    signer = NoteSigner.from_skey(read("xmod-peterneumann.skey").decode())
    assert signer.skey() == read("xmod-peterneumann.skey").decode().strip()
    assert signer.verifier.vkey() == read("xmod-peterneumann.vkey").decode().strip()
    note = read("xmod-peterneumann.note")
    assert sign_note(parse_note(note).text, [signer]) == note


def test_cosigned_checkpoint_vector() -> None:
    verifiers = [
        NoteVerifier.parse(ln)
        for ln in read("lpr-test-checkpoint-cosigned.vkey").decode().splitlines()
    ]
    opened = open_note(read("lpr-test-checkpoint-cosigned.note"), verifiers)
    assert len(opened.verified_by) == 2
    assert opened.cosigned_at == (("lpr.example/node-b/witness", 1700000000),)
    cp = parse_checkpoint(opened.note.text)
    assert cp.size == 8
    assert cp.root.hex().startswith("5dc9da79")


def test_unknown_keys_are_ignored_but_a_bad_known_one_fails() -> None:
    log = NoteSigner("example.org/log", SigningKey(b"\x03" * 32))
    stranger = NoteSigner("example.org/other", SigningKey(b"\x04" * 32))
    note = sign_note(b"hello\n", [stranger, log])
    assert open_note(note, [log.verifier]).verified_by == (log.verifier,)
    with pytest.raises(NoteError, match="not signed by any known key"):
        open_note(note, [NoteVerifier("example.org/x", 1, bytes(32))])
    impostor = NoteSigner("example.org/log", SigningKey(b"\x05" * 32))
    forged_line = impostor.signature_line(b"hello\n")
    # Same name, but the key id differs: ignored as unknown. Force the known key id:
    good = parse_note(note).signatures[1]
    forged = (
        b"hello\n\n"
        + forged_line.replace(forged_line.split()[2], _with_id(forged_line, good.key_id)).encode()
    )
    with pytest.raises(NoteError, match="invalid signature by known key"):
        open_note(forged, [log.verifier])


def _with_id(line: str, kid: bytes) -> str:
    import base64

    blob = base64.b64decode(line.split()[2])
    return base64.b64encode(kid + blob[4:]).decode()


def test_cosignature_round_trip_and_tamper() -> None:
    log = NoteSigner("example.org/log", SigningKey(b"\x06" * 32))
    witness = WitnessSigner("example.org/witness", SigningKey(b"\x07" * 32))
    body = Checkpoint("example.org/log", 5, b"\x11" * 32).encode()
    note = add_signature_lines(sign_note(body, [log]), [witness.cosign(body, 1_800_000_000)])
    opened = open_note(note, [log.verifier, witness.verifier])
    assert opened.cosigned_at == (("example.org/witness", 1_800_000_000),)
    tampered = note.replace(b"\n5\n", b"\n6\n")
    with pytest.raises(NoteError):
        open_note(tampered, [log.verifier, witness.verifier])


@pytest.mark.parametrize(
    "data",
    [
        b"no signatures\n",
        b"text\n\nnot a signature line\n",
        b"text\r\n\n\xe2\x80\x94 a AAAA\n",
        b"text\n\n\xe2\x80\x94 a !!!\n",
    ],
)
def test_malformed_notes(data: bytes) -> None:
    with pytest.raises(NoteError):
        parse_note(data)


@pytest.mark.parametrize(
    "body",
    [
        b"origin\n01\n" + b"A" * 43 + b"=\n",
        b"origin\n5\nshort\n",
        b"origin\n5\n",
        b"origin\n-1\n" + b"A" * 43 + b"=\n",
        b"o\n5\n" + b"A" * 43 + b"=\n\n",
    ],
)
def test_malformed_checkpoints(body: bytes) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(body)


def test_vkey_errors() -> None:
    with pytest.raises(NoteError):
        NoteVerifier.parse("name+00000000+AQ==")
    with pytest.raises(NoteError, match="key id"):
        NoteVerifier.parse("PeterNeumann+00000000+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
