"""``accord audit verify`` against a real exported log, and against every tampering we know."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from audit.errors import VerificationError
from audit.policy import VerifyPolicy, parse_policy
from audit.source import DirectorySource
from audit.verify import verify_log
from crypto.checkpoint import Checkpoint, parse_checkpoint
from crypto.entries import Entry
from crypto.note import NoteSigner, WitnessSigner, add_signature_lines, parse_note, sign_note
from crypto.tiles import encode_bundle
from node.ids import LogId
from node.ledger.export import export_tiles
from node.ledger.log import LedgerLog
from node.ledger.publisher import Publisher, WitnessClient
from node.ledger.witness import Witness
from node.store.db import create_engine, session_factory
from node.store.migrate import upgrade

ORIGIN = "accord/alpha/ledger"
LOG_KEY = NoteSigner(ORIGIN, SigningKey(b"\x21" * 32))
WITNESS_KEYS = [
    WitnessSigner(f"accord/w{i}/witness", SigningKey(bytes([0x30 + i]) * 32)) for i in range(2)
]
H = "ab" * 32


def entry(i: int) -> bytes:
    return Entry(
        "admin.action",
        1_800_000_000_000 + i,
        "alpha",
        {"action": "test", "actor": H, "detail": f"entry {i}"},
    ).encode()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    root = tmp_path_factory.mktemp("log")

    def store(name: str):  # type: ignore[no-untyped-def]
        url = f"sqlite:///{root / name}"
        upgrade(url)
        return session_factory(create_engine(url))

    async def build() -> None:
        sessions = store("a.db")
        ledger = LedgerLog(sessions, LogId(ORIGIN))
        await ledger.open()
        witnesses = [
            Witness(store(f"w{i}.db"), w, {ORIGIN: LOG_KEY.verifier})
            for i, w in enumerate(WITNESS_KEYS)
        ]

        def client(w: Witness) -> WitnessClient:
            async def call(old: int, proof: Sequence[bytes], note: bytes) -> str:
                return w.add_checkpoint(old, proof, note)

            return WitnessClient(w.signer.verifier, call)

        publisher = Publisher(ledger, sessions, LOG_KEY, witnesses=[client(w) for w in witnesses])
        n = 0
        for batch in (3, 250, 1, 400):
            for _ in range(batch):
                await ledger.append(entry(n))
                n += 1
            await publisher.gather_cosignatures(publisher.sign())
        export_tiles(ledger, publisher, sessions, root / "tiles")
        await ledger.close()

    asyncio.run(build())
    return root / "tiles"


def policy(quorum: int = 2) -> VerifyPolicy:
    witnesses = ", ".join(f'"{w.verifier.vkey()}"' for w in WITNESS_KEYS)
    return parse_policy(
        f'log = "{LOG_KEY.verifier.vkey()}"\nwitnesses = [{witnesses}]\nquorum = {quorum}\n'
    )


def copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def test_clean_log_verifies(exported: Path) -> None:
    report = verify_log(DirectorySource(exported), policy())
    assert report.size == 654
    assert report.checkpoints_checked == 5
    assert report.cosigners == sorted(w.name for w in WITNESS_KEYS)
    assert report.entries_by_type == {"admin.action": 654}


def flip_entry_byte(d: Path) -> None:
    p = d / "tile/entries/001"
    data = bytearray(p.read_bytes())
    data[100] ^= 0x01
    p.write_bytes(bytes(data))


def drop_entry(d: Path) -> None:
    p = d / "tile/entries/000"
    from crypto.tiles import decode_bundle

    entries = decode_bundle(p.read_bytes(), 256)
    p.write_bytes(encode_bundle(entries[:10] + entries[11:] + [entries[-1]]))


def reorder_entries(d: Path) -> None:
    from crypto.tiles import decode_bundle

    p = d / "tile/entries/000"
    entries = decode_bundle(p.read_bytes(), 256)
    entries[5], entries[6] = entries[6], entries[5]
    p.write_bytes(encode_bundle(entries))


def truncate_log(d: Path) -> None:
    (d / "tile/entries/002.p/142").unlink()


def flip_tile_hash(d: Path) -> None:
    p = d / "tile/0/001"
    data = bytearray(p.read_bytes())
    data[0] ^= 0x80
    p.write_bytes(bytes(data))


def non_canonical_entry(d: Path) -> None:
    from crypto.tiles import decode_bundle

    p = d / "tile/entries/000"
    entries = decode_bundle(p.read_bytes(), 256)
    entries[3] = entries[3].replace(b'","', b'", "', 1)
    p.write_bytes(encode_bundle(entries))


def resign(d: Path, mutate_history: Callable[[list[bytes]], list[bytes]]) -> None:
    """An insider with the log key rewrites an entry and re-signs the checkpoint."""
    from crypto.merkle import leaf_hash, root_of
    from crypto.tiles import decode_bundle

    bundles = sorted((d / "tile/entries").rglob("*"))
    entries: list[bytes] = []
    for b in bundles:
        if b.is_file():
            width = int(b.name) if b.parent.name == "000.p" or ".p" in b.parent.name else 256
            entries += decode_bundle(b.read_bytes(), width)
    entries = mutate_history(entries)
    root = root_of([leaf_hash(e) for e in entries])
    note = sign_note(Checkpoint(ORIGIN, len(entries), root).encode(), [LOG_KEY])
    (d / "checkpoint").write_bytes(note)


def rewrite_history_with_log_key(d: Path) -> None:
    resign(d, lambda es: es)  # even an identical re-signing loses the witnesses' cosignatures


def fork_for_one_witness(d: Path) -> None:
    """The log shows one witness a different tree of the same size and gets its cosignature."""
    body = Checkpoint(ORIGIN, 654, b"\x42" * 32).encode()
    note = sign_note(body, [LOG_KEY])
    note = add_signature_lines(note, [w.cosign(body, 1_800_000_100) for w in WITNESS_KEYS[:1]])
    (d / "checkpoint").write_bytes(note)


def replay_old_checkpoint(d: Path) -> None:
    shutil.copy(d / "accord/checkpoints/1", d / "checkpoint")


def wrong_log_key(d: Path) -> None:
    other = NoteSigner(ORIGIN, SigningKey(b"\x66" * 32))
    note = (d / "checkpoint").read_bytes()
    text = parse_note(note).text
    (d / "checkpoint").write_bytes(sign_note(text, [other]))


def forged_history(d: Path) -> None:
    note = (d / "accord/checkpoints/2").read_bytes()
    cp = parse_checkpoint(parse_note(note).text)
    forged = sign_note(Checkpoint(ORIGIN, cp.size, b"\x13" * 32).encode(), [LOG_KEY])
    (d / "accord/checkpoints/2").write_bytes(forged)


def bad_cosignature(d: Path) -> None:
    note = (d / "checkpoint").read_bytes().decode()
    lines = note.splitlines(keepends=True)
    for i, ln in enumerate(lines):
        if "/witness " in ln:
            import base64

            name, blob = ln.split()[1], base64.b64decode(ln.split()[2])
            blob = blob[:-1] + bytes([blob[-1] ^ 1])
            lines[i] = f"\u2014 {name} {base64.b64encode(blob).decode()}\n"
            break
    (d / "checkpoint").write_text("".join(lines))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (flip_entry_byte, "entr"),
        (drop_entry, "does not match|backwards"),
        (reorder_entries, "does not match|backwards"),
        (truncate_log, "missing"),
        (flip_tile_hash, "tile/0/001"),
        (non_canonical_entry, "canonical"),
        (rewrite_history_with_log_key, "cosignature"),
        (fork_for_one_witness, "cosignature|two different|does not match"),
        (replay_old_checkpoint, "stale"),
        (wrong_log_key, "known key"),
        (forged_history, "accord/checkpoints/2|does not match|two different"),
        (bad_cosignature, "invalid signature by known key"),
    ],
)
def test_tampering_is_detected(
    exported: Path, tmp_path: Path, tamper: Callable[[Path], None], message: str
) -> None:
    d = copy(exported, tmp_path)
    tamper(d)
    with pytest.raises(VerificationError, match=message):
        verify_log(DirectorySource(d), policy())


def test_fork_shown_to_one_witness_passes_quorum_one_but_not_two(
    exported: Path, tmp_path: Path
) -> None:
    d = copy(exported, tmp_path)
    fork_for_one_witness(d)
    with pytest.raises(VerificationError):
        verify_log(DirectorySource(d), policy(quorum=1))  # the entries still betray it
    with pytest.raises(VerificationError, match="cosignature"):
        verify_log(DirectorySource(d), policy(quorum=2))
