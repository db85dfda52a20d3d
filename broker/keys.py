"""The broker's keys: the federation operator's, the witness's, and its TLS identity.

Three keys for three jobs, never interchangeable: the operator key signs directory
snapshots (nodes pin its public half), the witness key cosigns members' checkpoints
(auditors name it in quorum policies), and the TLS key only authenticates the broker's
server. Secrets are files of mode 0600 and are never printed.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey

from broker.errors import BrokerSetupError
from broker.files import write_new
from crypto.certs import TlsIdentity, new_tls_identity
from crypto.errors import KeyEncodingError
from crypto.keys import KeyKind, decode_signing_secret, encode_signing_secret
from crypto.note import ALG_COSIGNATURE_V1, NoteVerifier, WitnessSigner

KEYS_DIR = "keys"
TLS_DIR = "tls"
OPERATOR_FILE = "operator.key"
WITNESS_FILE = "witness.key"
TLS_KEY_FILE = "broker.key"
TLS_CERT_FILE = "broker.crt"
#: What the operator hands every member: the operator key (hex) and the witness vkey.
OPERATOR_PUBLIC_FILE = "operator.pub"
WITNESS_PUBLIC_FILE = "witness.vkey"


def broker_tls_name(federation: str) -> str:
    """The name in the broker's certificate (CN and DNS SAN), the TLS target name."""
    return f"broker.{federation}"


def broker_witness_name(federation: str) -> str:
    """The C2SP key name of the broker's witness: distinct from every node's
    ``accord/<node>/witness`` (one more path segment)."""
    return f"accord/broker/{federation}/witness"


def broker_witness_verifier(federation: str, public_key: bytes) -> NoteVerifier:
    return NoteVerifier(broker_witness_name(federation), ALG_COSIGNATURE_V1, public_key)


@dataclass(frozen=True, slots=True)
class BrokerKeys:
    """The broker's secrets, in memory only while it runs."""

    operator: SigningKey
    witness: SigningKey
    tls: TlsIdentity

    @property
    def operator_public_hex(self) -> str:
        return bytes(self.operator.verify_key).hex()

    def witness_signer(self, federation: str) -> WitnessSigner:
        return WitnessSigner(broker_witness_name(federation), self.witness)


def generate_broker_keys(federation: str, *, now: dt.datetime) -> BrokerKeys:
    return BrokerKeys(
        operator=SigningKey.generate(),
        witness=SigningKey.generate(),
        tls=new_tls_identity(broker_tls_name(federation), now=now),
    )


def write_broker_keys(home: Path, keys: BrokerKeys, federation: str) -> None:
    """Write the keys under ``home`` (which must not hold any yet)."""
    keys_dir, tls_dir = home / KEYS_DIR, home / TLS_DIR
    keys_dir.mkdir(mode=0o700)
    tls_dir.mkdir(mode=0o700)
    for kind, filename, key in (
        (KeyKind.SIGNING, OPERATOR_FILE, keys.operator),
        (KeyKind.WITNESS, WITNESS_FILE, keys.witness),
    ):
        write_new(keys_dir / filename, (encode_signing_secret(kind, key) + "\n").encode(), 0o600)
    write_new(tls_dir / TLS_KEY_FILE, keys.tls.key_pem, 0o600)
    write_new(tls_dir / TLS_CERT_FILE, keys.tls.cert_pem, 0o644)
    write_new(keys_dir / OPERATOR_PUBLIC_FILE, (keys.operator_public_hex + "\n").encode(), 0o644)
    vkey = keys.witness_signer(federation).verifier.vkey()
    write_new(keys_dir / WITNESS_PUBLIC_FILE, (vkey + "\n").encode(), 0o644)


def _read_secret(path: Path) -> bytes:
    try:
        st = os.stat(path)
    except FileNotFoundError as e:
        raise BrokerSetupError(f"{path}: missing") from e
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise BrokerSetupError(f"{path}: readable by other users; chmod 600 it")
    return path.read_bytes()


def load_broker_keys(home: Path) -> BrokerKeys:
    """Load and check the broker's keys; raises :class:`BrokerSetupError`."""
    keys_dir, tls_dir = home / KEYS_DIR, home / TLS_DIR
    try:
        operator = decode_signing_secret(
            KeyKind.SIGNING, _read_secret(keys_dir / OPERATOR_FILE).decode("ascii")
        )
        witness = decode_signing_secret(
            KeyKind.WITNESS, _read_secret(keys_dir / WITNESS_FILE).decode("ascii")
        )
    except (KeyEncodingError, UnicodeDecodeError) as e:
        raise BrokerSetupError(f"{keys_dir}: corrupt key file: {e}") from e
    key_pem = _read_secret(tls_dir / TLS_KEY_FILE)
    try:
        cert_pem = (tls_dir / TLS_CERT_FILE).read_bytes()
    except OSError as e:
        raise BrokerSetupError(f"{tls_dir / TLS_CERT_FILE}: cannot be read") from e
    return BrokerKeys(operator=operator, witness=witness, tls=TlsIdentity(key_pem, cert_pem))
