"""Signed directory snapshots on disk: the broker's one source of truth for its members.

The member list *is* the latest signed snapshot: a change decodes it, edits the members,
signs version + 1 and writes it, so there is no second file that could disagree with what
nodes were told. Every version is kept as ``directory/v<version>.json`` (the history an
operator or auditor can replay) and ``directory/current.json`` is what is served.

File format (JSON, not canonical: a wrapper): ``{"format": "accord/directory-snapshot/v1",
"directory": base64(canonical directory), "signature": base64(operator signature)}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey

from broker.errors import BrokerSetupError
from broker.files import write_atomic
from crypto.directory import (
    SIGNATURE_DOMAIN,
    Directory,
    DirectoryError,
    Member,
    SignedDirectory,
    decode_directory,
    sign_directory,
)
from crypto.errors import SignatureError
from crypto.sign import verify

SNAPSHOT_DIR = "directory"
CURRENT_FILE = "current.json"
SNAPSHOT_FORMAT = "accord/directory-snapshot/v1"


def encode_snapshot(signed: SignedDirectory) -> bytes:
    doc = {
        "format": SNAPSHOT_FORMAT,
        "directory": base64.b64encode(signed.body).decode("ascii"),
        "signature": base64.b64encode(signed.signature).decode("ascii"),
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def decode_snapshot(data: bytes) -> SignedDirectory:
    """Parse a snapshot file; raises :class:`DirectoryError` (nothing is verified here)."""
    try:
        doc = json.loads(data)
        if doc.get("format") != SNAPSHOT_FORMAT:
            raise DirectoryError("not an accord/directory-snapshot/v1 file")
        return SignedDirectory(
            body=base64.b64decode(doc["directory"], validate=True),
            signature=base64.b64decode(doc["signature"], validate=True),
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as e:
        raise DirectoryError(f"malformed snapshot file: {e}") from e


def open_signed(signed: SignedDirectory, operator_key: bytes) -> Directory:
    """Verify the operator's signature and decode, *without* checking expiry (the broker
    must still know its members after a long outage, to re-sign them)."""
    try:
        verify(operator_key, SIGNATURE_DOMAIN, signed.body, signed.signature)
    except SignatureError as e:
        raise DirectoryError("snapshot is not signed by this broker's operator key") from e
    return decode_directory(signed.body)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A signed snapshot and what it says."""

    signed: SignedDirectory
    directory: Directory


class SnapshotFiles:
    """The snapshots of one broker home (callers hold :func:`broker.files.home_lock`
    around read-modify-write)."""

    def __init__(self, home: Path, operator_key: bytes) -> None:
        self._dir = home / SNAPSHOT_DIR
        self._operator_key = operator_key
        self._cache: tuple[tuple[int, int, int], Snapshot] | None = None

    @property
    def current_path(self) -> Path:
        return self._dir / CURRENT_FILE

    def current(self) -> Snapshot | None:
        """The snapshot being served, re-read only when the file changed."""
        try:
            st = os.stat(self.current_path)
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        try:
            signed = decode_snapshot(self.current_path.read_bytes())
            snapshot = Snapshot(signed, open_signed(signed, self._operator_key))
        except DirectoryError as e:
            raise BrokerSetupError(f"{self.current_path}: {e}") from e
        self._cache = (stamp, snapshot)
        return snapshot

    def members(self) -> tuple[Member, ...]:
        current = self.current()
        return () if current is None else current.directory.members

    def publish(
        self,
        federation: str,
        members: tuple[Member, ...],
        operator: SigningKey,
        *,
        now_ms: int,
        validity_ms: int,
    ) -> Snapshot:
        """Sign ``members`` as the next version, valid from ``now_ms`` for ``validity_ms``."""
        current = self.current()
        version = 1 if current is None else current.directory.version + 1
        directory = Directory(
            federation=federation,
            version=version,
            issued_ms=now_ms,
            expires_ms=now_ms + validity_ms,
            members=tuple(sorted(members, key=lambda m: m.name)),
        )
        signed = sign_directory(directory, operator)
        data = encode_snapshot(signed)
        write_atomic(self._dir / f"v{version:08d}.json", data)
        write_atomic(self.current_path, data)
        snapshot = Snapshot(signed, directory)
        return snapshot

    def history(self, version: int) -> Snapshot:
        """An older published snapshot (for an operator, or a test replaying one)."""
        path = self._dir / f"v{version:08d}.json"
        try:
            signed = decode_snapshot(path.read_bytes())
        except FileNotFoundError as e:
            raise BrokerSetupError(f"{path}: no such published version") from e
        return Snapshot(signed, open_signed(signed, self._operator_key))
