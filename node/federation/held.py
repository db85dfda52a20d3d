"""The directory this node holds, persisted so rollback protection survives a restart.

``<home>/federation/directory.json`` keeps the last directory the node accepted, exactly
as the operator signed it. It is replaced atomically (temporary file, fsync, rename,
directory fsync): after a crash the node holds the old version or the new one, never a
mix, and never forgets the version it must not go below.

At load the operator's signature is checked again (the file is not trusted more than the
wire) but expiry is not: an expired held directory still sets the rollback floor; the
link then treats it as expired (fail closed, see ADR 0009).
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from crypto.directory import (
    SIGNATURE_DOMAIN,
    Directory,
    DirectoryError,
    SignedDirectory,
    decode_directory,
)
from crypto.errors import SignatureError
from crypto.sign import verify
from node.federation.errors import FederationSetupError
from node.federation.settings import FEDERATION_DIR
from node.files import write_atomic

HELD_FILE = "directory.json"
HELD_FORMAT = "accord/held-directory/v1"


def held_path(home: Path) -> Path:
    return home / FEDERATION_DIR / HELD_FILE


def open_without_expiry(signed: SignedDirectory, operator_key: bytes) -> Directory:
    """Check the operator's signature and decode; expiry is the caller's decision."""
    try:
        verify(operator_key, SIGNATURE_DOMAIN, signed.body, signed.signature)
    except SignatureError as e:
        raise DirectoryError("directory is not signed by the federation operator") from e
    return decode_directory(signed.body)


def load_held(home: Path, operator_key: bytes) -> tuple[SignedDirectory, Directory] | None:
    """The held directory, or ``None`` if the node never accepted one."""
    path = held_path(home)
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise FederationSetupError(f"{path}: unreadable held directory: {e}") from e
    try:
        if doc.get("format") != HELD_FORMAT:
            raise DirectoryError(f"not an {HELD_FORMAT} file")
        signed = SignedDirectory(
            body=base64.b64decode(doc["directory"], validate=True),
            signature=base64.b64decode(doc["signature"], validate=True),
        )
        return signed, open_without_expiry(signed, operator_key)
    except (DirectoryError, KeyError, TypeError, AttributeError, binascii.Error) as e:
        raise FederationSetupError(
            f"{path}: the held directory does not verify under the pinned operator key ({e}); "
            "it was not written by this node"
        ) from e


def store_held(home: Path, signed: SignedDirectory) -> None:
    """Atomically replace the held directory with ``signed`` (already accepted)."""
    path = held_path(home)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    data = json.dumps(
        {
            "format": HELD_FORMAT,
            "directory": base64.b64encode(signed.body).decode("ascii"),
            "signature": base64.b64encode(signed.signature).decode("ascii"),
        },
        indent=2,
    ).encode()
    write_atomic(path, data)
