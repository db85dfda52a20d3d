from __future__ import annotations

import dataclasses

import pytest
from nacl.signing import SigningKey

from crypto.directory import (
    Directory,
    DirectoryError,
    DirectoryExpiredError,
    DirectoryRollbackError,
    Member,
    SignedDirectory,
    accept_update,
    decode_directory,
    sign_directory,
)

OPERATOR = SigningKey(b"\x01" * 32)
OP_PUB = bytes(OPERATOR.verify_key)
NOW = 1_800_000_000_000


def member(name: str, n: int) -> Member:
    return Member(
        name=name,
        ori=f"CA019{n:04d}",
        jurisdiction="US-CA",
        kind="municipal",
        endpoint=f"127.0.0.1:{7000 + n}",
        relay_only=False,
        cert_pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        cert_sha256=f"{n:064x}",
        signing_key="a" * 64,
        log_key="b" * 64,
        witness_key="c" * 64,
        sealing_key="d" * 64,
    )


def directory(version: int, *names: str, expires: int = NOW + 3_600_000) -> Directory:
    return Directory(
        "la-region", version, NOW - 1000, expires, tuple(member(n, i) for i, n in enumerate(names))
    )


def test_round_trip_and_accept() -> None:
    d = directory(1, "santa-monica-pd", "culver-city-pd")
    signed = sign_directory(d, OPERATOR)
    assert decode_directory(signed.body) == dataclasses.replace(
        d, members=tuple(sorted(d.members, key=lambda m: m.name))
    )
    held = accept_update(signed, None, OP_PUB, now_ms=NOW)
    newer = accept_update(
        sign_directory(directory(2, "santa-monica-pd"), OPERATOR), held, OP_PUB, now_ms=NOW
    )
    assert [m.name for m in newer.members] == ["santa-monica-pd"]


def test_rollback_is_refused() -> None:
    held = directory(5, "santa-monica-pd")
    with pytest.raises(DirectoryRollbackError, match="older"):
        accept_update(
            sign_directory(directory(4, "santa-monica-pd", "old-member"), OPERATOR),
            held,
            OP_PUB,
            now_ms=NOW,
        )


def test_two_documents_under_one_version_are_refused() -> None:
    held = directory(5, "santa-monica-pd")
    with pytest.raises(DirectoryRollbackError, match="two different"):
        accept_update(
            sign_directory(directory(5, "santa-monica-pd", "x"), OPERATOR), held, OP_PUB, now_ms=NOW
        )


def test_expired_is_refused() -> None:
    signed = sign_directory(directory(1, "a", expires=NOW - 1), OPERATOR)
    with pytest.raises(DirectoryExpiredError):
        accept_update(signed, None, OP_PUB, now_ms=NOW)


def test_wrong_signer_and_tampering_are_refused() -> None:
    signed = sign_directory(directory(1, "a"), SigningKey(b"\x02" * 32))
    with pytest.raises(DirectoryError, match="not signed"):
        accept_update(signed, None, OP_PUB, now_ms=NOW)
    good = sign_directory(directory(1, "a"), OPERATOR)
    tampered = SignedDirectory(
        good.body.replace(b"127.0.0.1:7000", b"127.0.0.1:9999"), good.signature
    )
    with pytest.raises(DirectoryError):
        accept_update(tampered, None, OP_PUB, now_ms=NOW)


def test_invalid_members_are_refused() -> None:
    bad = dataclasses.replace(member("a", 1), ori="nope")
    with pytest.raises(DirectoryError, match="invalid ori"):
        Directory("f", 1, 0, 10, (bad,)).encode()
    dup = member("a", 1)
    with pytest.raises(DirectoryError, match="twice"):
        Directory("f", 1, 0, 10, (dup, dup)).encode()
