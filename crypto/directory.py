"""The federation directory: who the members are, signed by the federation operator.

The broker publishes it; every node verifies it and uses it as the only source of peer
identities, endpoints and key pins. A directory is versioned and expires, and a node
refuses one that is older than the one it holds (rollback) or past its expiry (freeze),
so a compromised relay cannot resurrect a removed member by replaying an old snapshot.

Encoding: ``accord/directory/v1`` canonical JSON (:mod:`crypto.canonical_json`), signed
with Ed25519 under the domain ``accord/directory/v1``. Pure: clocks are arguments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nacl.signing import SigningKey

from crypto.canonical_json import CanonicalJsonError, dumps, loads
from crypto.errors import CryptoError, SignatureError
from crypto.sign import sign, verify

DIRECTORY_FORMAT = "accord/directory/v1"
SIGNATURE_DOMAIN = "accord/directory/v1"
MAX_MEMBERS = 10_000

_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ORI = re.compile(r"^[A-Z]{2}[A-Z0-9]{7}$")
_JURISDICTION = re.compile(r"^[A-Z]{2}(?:-[A-Z0-9]{1,3})?$")
_KINDS = frozenset({"municipal", "county", "state", "federal", "tribal", "private"})
_ENDPOINT = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$")


class DirectoryError(CryptoError):
    """A directory is malformed, wrongly signed, expired or older than the one held."""


class DirectoryRollbackError(DirectoryError):
    """The offered directory is older than (or conflicts with) the one already held."""


class DirectoryExpiredError(DirectoryError):
    """The offered directory is past its expiry."""


@dataclass(frozen=True, slots=True)
class Member:
    """One agency of the federation, with the pins peers need to trust it."""

    name: str
    ori: str
    jurisdiction: str
    kind: str
    endpoint: str
    relay_only: bool
    cert_pem: str
    cert_sha256: str
    signing_key: str
    log_key: str
    witness_key: str
    sealing_key: str

    def check(self) -> None:
        problems = [
            ("name", bool(_NAME.match(self.name))),
            ("ori", bool(_ORI.match(self.ori))),
            ("jurisdiction", bool(_JURISDICTION.match(self.jurisdiction))),
            ("kind", self.kind in _KINDS),
            ("endpoint", self.relay_only or bool(_ENDPOINT.match(self.endpoint))),
            ("cert_pem", self.cert_pem.startswith("-----BEGIN CERTIFICATE-----")),
        ] + [
            (f, bool(_HEX64.match(getattr(self, f))))
            for f in ("cert_sha256", "signing_key", "log_key", "witness_key", "sealing_key")
        ]
        bad = [field for field, ok in problems if not ok]
        if bad:
            raise DirectoryError(f"member {self.name!r}: invalid {', '.join(bad)}")


@dataclass(frozen=True, slots=True)
class Directory:
    """A directory snapshot as the operator signs it."""

    federation: str
    version: int
    issued_ms: int
    expires_ms: int
    members: tuple[Member, ...]

    def check(self) -> None:
        if not _NAME.match(self.federation):
            raise DirectoryError("invalid federation name")
        if not 0 < self.version < 2**53 or not 0 <= self.issued_ms < self.expires_ms < 2**53:
            raise DirectoryError("invalid version or validity")
        if len(self.members) > MAX_MEMBERS:
            raise DirectoryError("too many members")
        names: set[str] = set()
        pins: set[str] = set()
        for m in self.members:
            m.check()
            if m.name in names or m.cert_sha256 in pins:
                raise DirectoryError(f"member {m.name!r} listed twice")
            names.add(m.name)
            pins.add(m.cert_sha256)

    def encode(self) -> bytes:
        """Canonical bytes of the directory (what the operator signs)."""
        self.check()
        doc: dict[str, Any] = {
            "format": DIRECTORY_FORMAT,
            "federation": self.federation,
            "version": self.version,
            "issued_ms": self.issued_ms,
            "expires_ms": self.expires_ms,
            "members": [
                {f: getattr(m, f) for f in Member.__slots__}
                for m in sorted(self.members, key=lambda m: m.name)
            ],
        }
        return dumps(doc)

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)


@dataclass(frozen=True, slots=True)
class SignedDirectory:
    """Directory bytes and the operator's signature over them."""

    body: bytes
    signature: bytes

    def open(self, operator_key: bytes, *, now_ms: int) -> Directory:
        """Verify the signature and expiry and decode; raises :class:`DirectoryError`."""
        try:
            verify(operator_key, SIGNATURE_DOMAIN, self.body, self.signature)
        except SignatureError as e:
            raise DirectoryError("directory is not signed by the federation operator") from e
        directory = decode_directory(self.body)
        if now_ms >= directory.expires_ms:
            raise DirectoryExpiredError(
                f"directory version {directory.version} expired; the broker must publish a new one"
            )
        return directory


def sign_directory(directory: Directory, operator: SigningKey) -> SignedDirectory:
    body = directory.encode()
    return SignedDirectory(body=body, signature=sign(operator, SIGNATURE_DOMAIN, body))


def decode_directory(body: bytes) -> Directory:
    """Strictly decode canonical directory bytes."""
    try:
        doc = loads(body)
    except CanonicalJsonError as e:
        raise DirectoryError(f"directory is not canonical JSON: {e}") from e
    try:
        if doc["format"] != DIRECTORY_FORMAT:
            raise DirectoryError("not an accord/directory/v1 document")
        members = []
        for raw in doc["members"]:
            if set(raw) != set(Member.__slots__):
                raise DirectoryError("member fields do not match accord/directory/v1")
            if not all(isinstance(raw[f], str) for f in Member.__slots__ if f != "relay_only"):
                raise DirectoryError("member fields must be strings")
            if not isinstance(raw["relay_only"], bool):
                raise DirectoryError("relay_only must be a boolean")
            members.append(Member(**raw))
        if set(doc) != {"format", "federation", "version", "issued_ms", "expires_ms", "members"}:
            raise DirectoryError("directory fields do not match accord/directory/v1")
        directory = Directory(
            federation=doc["federation"],
            version=doc["version"],
            issued_ms=doc["issued_ms"],
            expires_ms=doc["expires_ms"],
            members=tuple(members),
        )
    except (KeyError, TypeError) as e:
        raise DirectoryError(f"malformed directory: {e}") from e
    directory.check()
    if directory.encode() != body:
        raise DirectoryError("directory members are not in canonical order")
    return directory


def accept_update(
    offered: SignedDirectory,
    held: Directory | None,
    operator_key: bytes,
    *,
    now_ms: int,
) -> Directory:
    """The directory a node should hold after being offered ``offered``.

    Refuses a wrong signature, an expired snapshot, an older version (rollback), and a
    different document under the version already held (equivocation by the operator).
    """
    directory = offered.open(operator_key, now_ms=now_ms)
    if held is not None:
        if directory.federation != held.federation:
            raise DirectoryError("directory is for another federation")
        if directory.version < held.version:
            raise DirectoryRollbackError(
                f"directory version {directory.version} is older than the held {held.version}"
            )
        if directory.version == held.version and directory.encode() != held.encode():
            raise DirectoryRollbackError(f"two different directories claim version {held.version}")
    return directory


def members_except(directory: Directory, name: str) -> Sequence[Member]:
    """Every member but ``name`` (a node's peers)."""
    return [m for m in directory.members if m.name != name]
