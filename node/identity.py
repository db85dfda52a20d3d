"""The node's long-term keys on disk: creation, safe writing and checked loading.

Layout inside the node home::

    keys/signing.key    Ed25519: signs requests and agreements
    keys/log.key        Ed25519: signs this node's ledger checkpoints
    keys/witness.key    Ed25519: cosigns peers' checkpoints
    keys/sealing.key    X25519: opens sealed envelopes relayed through the broker
    keys/lookup.key     HMAC key: the read store's plate lookup index (never leaves the node)
    keys/actor.key      HMAC key: pseudonymous officer ids in the ledger (rotatable)
    keys/public.toml    who the node is and its public keys, safe to share
    tls/node.key        P-256 key of the mutual-TLS certificate
    tls/node.crt        the self-signed certificate peers pin

Secret files are created with mode 0600 and refused on load if group or others can read
them: a key another local user could have copied is no longer a secret.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.certs import TlsIdentity, cert_fingerprint, load_certificate, new_tls_identity
from crypto.errors import CertificateError, KeyEncodingError
from crypto.keys import (
    KeyKind,
    decode_sealing_secret,
    decode_signing_secret,
    decode_symmetric_secret,
    encode_public,
    encode_sealing_secret,
    encode_signing_secret,
    encode_symmetric_secret,
)
from node.errors import KeyFileError

KEYS_DIR = "keys"
TLS_DIR = "tls"
_SIGNING_FILES = {
    KeyKind.SIGNING: "signing.key",
    KeyKind.LOG: "log.key",
    KeyKind.WITNESS: "witness.key",
}
SEALING_FILE = "sealing.key"
LOOKUP_FILE = "lookup.key"
ACTOR_FILE = "actor.key"
PUBLIC_FILE = "public.toml"
TLS_KEY_FILE = "node.key"
TLS_CERT_FILE = "node.crt"


@dataclass(frozen=True, slots=True)
class NodeKeys:
    """A node's secret keys, held in memory only while the node runs."""

    signing: SigningKey
    log: SigningKey
    witness: SigningKey
    sealing: PrivateKey
    lookup: bytes
    actor: bytes
    tls: TlsIdentity

    def public_summary(self) -> dict[str, str]:
        """Public keys and the certificate fingerprint, for sharing with peers."""
        return {
            "signing": encode_public(KeyKind.SIGNING, bytes(self.signing.verify_key)),
            "log": encode_public(KeyKind.LOG, bytes(self.log.verify_key)),
            "witness": encode_public(KeyKind.WITNESS, bytes(self.witness.verify_key)),
            "sealing": encode_public(KeyKind.SEALING, bytes(self.sealing.public_key)),
            "tls_cert_sha256": self.tls.fingerprint,
        }


def generate_node_keys(node_name: str, *, now: dt.datetime) -> NodeKeys:
    """Make a fresh set of keys for a node called ``node_name``."""
    return NodeKeys(
        signing=SigningKey.generate(),
        log=SigningKey.generate(),
        witness=SigningKey.generate(),
        sealing=PrivateKey.generate(),
        lookup=os.urandom(32),
        actor=os.urandom(32),
        tls=new_tls_identity(node_name, now=now),
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` exclusively with ``mode``; never follows or replaces a file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # the umask may have narrowed it; secrets stay exactly 0600


def write_node_keys(home: Path, keys: NodeKeys) -> None:
    """Write ``keys`` under ``home``. Secret files get mode 0600; nothing is overwritten."""
    keys_dir = home / KEYS_DIR
    tls_dir = home / TLS_DIR
    keys_dir.mkdir(mode=0o700)
    tls_dir.mkdir(mode=0o700)
    for kind, filename in _SIGNING_FILES.items():
        key = {KeyKind.SIGNING: keys.signing, KeyKind.LOG: keys.log, KeyKind.WITNESS: keys.witness}[
            kind
        ]
        _write_new(keys_dir / filename, (encode_signing_secret(kind, key) + "\n").encode(), 0o600)
    _write_new(
        keys_dir / SEALING_FILE, (encode_sealing_secret(keys.sealing) + "\n").encode(), 0o600
    )
    for kind, filename, secret in (
        (KeyKind.LOOKUP, LOOKUP_FILE, keys.lookup),
        (KeyKind.ACTOR, ACTOR_FILE, keys.actor),
    ):
        _write_new(
            keys_dir / filename, (encode_symmetric_secret(kind, secret) + "\n").encode(), 0o600
        )
    _write_new(tls_dir / TLS_KEY_FILE, keys.tls.key_pem, 0o600)
    _write_new(tls_dir / TLS_CERT_FILE, keys.tls.cert_pem, 0o644)


def _read_secret(path: Path) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError as e:
        raise KeyFileError(path, "missing") from e
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(path, "is not a regular file")
    if st.st_mode & 0o077:
        raise KeyFileError(
            path,
            f"is readable by other users (mode {stat.S_IMODE(st.st_mode):04o}); "
            "run `chmod 600` on it, and rotate the key if others may have read it",
        )
    try:
        return path.read_bytes()
    except OSError as e:
        raise KeyFileError(path, f"cannot be read: {e.strerror}") from e


def load_tls_identity(home: Path) -> TlsIdentity:
    """Load the node's TLS key and certificate, checking the key file's permissions."""
    key_path = home / TLS_DIR / TLS_KEY_FILE
    cert_path = home / TLS_DIR / TLS_CERT_FILE
    key_pem = _read_secret(key_path)
    try:
        cert_pem = cert_path.read_bytes()
    except FileNotFoundError as e:
        raise KeyFileError(cert_path, "missing") from e
    try:
        load_certificate(cert_pem)
    except CertificateError as e:
        raise KeyFileError(cert_path, str(e)) from e
    if b"PRIVATE KEY" not in key_pem:
        raise KeyFileError(key_path, "is not a PEM private key")
    return TlsIdentity(key_pem=key_pem, cert_pem=cert_pem)


def load_node_keys(home: Path) -> NodeKeys:
    """Load every key of the node at ``home``, refusing unsafe or corrupt files."""
    keys_dir = home / KEYS_DIR
    loaded: dict[KeyKind, SigningKey] = {}
    for kind, filename in _SIGNING_FILES.items():
        path = keys_dir / filename
        try:
            loaded[kind] = decode_signing_secret(kind, _read_secret(path).decode("ascii"))
        except (KeyEncodingError, UnicodeDecodeError) as e:
            raise KeyFileError(path, f"corrupt key file: {e}") from e
    sealing_path = keys_dir / SEALING_FILE
    try:
        sealing = decode_sealing_secret(_read_secret(sealing_path).decode("ascii"))
    except (KeyEncodingError, UnicodeDecodeError) as e:
        raise KeyFileError(sealing_path, f"corrupt key file: {e}") from e
    symmetric: dict[KeyKind, bytes] = {}
    for kind, filename in ((KeyKind.LOOKUP, LOOKUP_FILE), (KeyKind.ACTOR, ACTOR_FILE)):
        path = keys_dir / filename
        try:
            symmetric[kind] = decode_symmetric_secret(kind, _read_secret(path).decode("ascii"))
        except (KeyEncodingError, UnicodeDecodeError) as e:
            raise KeyFileError(path, f"corrupt key file: {e}") from e
    return NodeKeys(
        signing=loaded[KeyKind.SIGNING],
        log=loaded[KeyKind.LOG],
        witness=loaded[KeyKind.WITNESS],
        sealing=sealing,
        lookup=symmetric[KeyKind.LOOKUP],
        actor=symmetric[KeyKind.ACTOR],
        tls=load_tls_identity(home),
    )


def certificate_fingerprint_of(home: Path) -> str:
    """The SHA-256 fingerprint peers pin for the node at ``home``."""
    return cert_fingerprint((home / TLS_DIR / TLS_CERT_FILE).read_bytes())
