"""``[federation]`` in ``accord.toml``: where the broker is and what this node pins.

::

    [federation]
    broker = "broker.example.org:7400"        # host:port of the broker
    broker_cert = "federation/broker.crt"      # pinned certificate, relative to the home
    broker_cert_sha256 = "9f2c..."             # its fingerprint, checked at every load
    operator_key = "3b6a..."                   # operator's Ed25519 public key, hex
    broker_witness = "accord/broker/socal/witness+..."   # optional: the broker's witness vkey
    refresh_s = 60                             # how often the directory is fetched

When the table is present the node is *federated*: its peers come only from the
directory the operator key signed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto.certs import cert_common_name, cert_fingerprint
from crypto.errors import CryptoError
from crypto.note import ALG_COSIGNATURE_V1, NoteError, NoteVerifier
from node.errors import ConfigError

_ENDPOINT = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
FEDERATION_DIR = "federation"
BROKER_CERT_FILE = "broker.crt"
DEFAULT_REFRESH_S = 60.0


@dataclass(frozen=True, slots=True)
class FederationSettings:
    """A node's link to its federation's broker."""

    broker: str
    #: Relative to the node home.
    broker_cert: str
    broker_cert_sha256: str
    operator_key: bytes
    broker_witness: str | None = None
    refresh_s: float = DEFAULT_REFRESH_S

    def witness_verifier(self) -> NoteVerifier | None:
        return None if self.broker_witness is None else NoteVerifier.parse(self.broker_witness)

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "broker": self.broker,
            "broker_cert": self.broker_cert,
            "broker_cert_sha256": self.broker_cert_sha256,
            "operator_key": self.operator_key.hex(),
            "refresh_s": self.refresh_s,
        }
        if self.broker_witness is not None:
            table["broker_witness"] = self.broker_witness
        return table


@dataclass(frozen=True, slots=True)
class PinnedBroker:
    """The broker's certificate as pinned, and the TLS name it carries."""

    cert_pem: bytes
    tls_name: str


def check_endpoint(endpoint: str) -> str:
    if not _ENDPOINT.match(endpoint) or int(endpoint.rsplit(":", 1)[1]) > 65535:
        raise ValueError(f"broker address {endpoint!r} must be host:port")
    return endpoint


def check_refresh(refresh_s: float) -> float:
    if not 0.05 <= refresh_s <= 24 * 3600:
        raise ValueError("refresh_s must be between 0.05 s and a day")
    return float(refresh_s)


def parse_operator_key(text: str) -> bytes:
    value = text.strip().lower()
    if not _HEX64.match(value):
        raise ValueError("operator_key must be 64 hex digits (an Ed25519 public key)")
    return bytes.fromhex(value)


def check_witness_vkey(vkey: str) -> str:
    try:
        verifier = NoteVerifier.parse(vkey.strip())
    except NoteError as e:
        raise ValueError(f"broker_witness is not a witness vkey: {e}") from e
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise ValueError("broker_witness must be a cosignature/v1 key")
    return vkey.strip()


def parse_federation(table: Any, path: Path) -> FederationSettings:
    """Validate the ``[federation]`` table; :class:`ConfigError` names the setting."""
    if not isinstance(table, dict):
        raise ConfigError(path, "must be a table", setting="federation")

    def get(key: str, kinds: tuple[type, ...], check: Any, *, required: bool = True) -> Any:
        if key not in table:
            if required:
                raise ConfigError(path, "missing", setting=f"federation.{key}")
            return None
        value = table[key]
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise ConfigError(path, "has the wrong type", setting=f"federation.{key}")
        try:
            return check(value)
        except ValueError as e:
            raise ConfigError(path, str(e), setting=f"federation.{key}") from e

    def hex64(value: str) -> str:
        if not _HEX64.match(value):
            raise ValueError("must be 64 lower-case hex digits")
        return value

    def relative(value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("must be a path inside the node home")
        return value

    return FederationSettings(
        broker=get("broker", (str,), check_endpoint),
        broker_cert=get("broker_cert", (str,), relative),
        broker_cert_sha256=get("broker_cert_sha256", (str,), hex64),
        operator_key=get("operator_key", (str,), parse_operator_key),
        broker_witness=get("broker_witness", (str,), check_witness_vkey, required=False),
        refresh_s=get("refresh_s", (int, float), check_refresh, required=False)
        or DEFAULT_REFRESH_S,
    )


def load_pinned_broker(home: Path, settings: FederationSettings) -> PinnedBroker:
    """Read the pinned broker certificate and check it against its fingerprint."""
    path = home / settings.broker_cert
    try:
        pem = path.read_bytes()
    except OSError as e:
        raise ConfigError(path, "cannot be read (the pinned broker certificate)") from e
    try:
        if cert_fingerprint(pem) != settings.broker_cert_sha256:
            raise ConfigError(path, "does not match federation.broker_cert_sha256")
        return PinnedBroker(cert_pem=pem, tls_name=cert_common_name(pem))
    except CryptoError as e:
        raise ConfigError(path, f"is not a certificate: {e}") from e
