"""``accord node federation join``: point a node at its federation's broker.

Writes the ``[federation]`` table and a copy of the broker's certificate into the node
home; nothing is fetched here (the running node fetches at start and every refresh). From
then on the node's peers come only from the directory the operator key signs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from crypto.certs import cert_fingerprint
from crypto.errors import CryptoError
from node.config import CONFIG_FILE, NodeConfig, load_config, write_config
from node.federation.errors import FederationSetupError
from node.federation.held import held_path, load_held
from node.federation.settings import (
    BROKER_CERT_FILE,
    FEDERATION_DIR,
    FederationSettings,
    check_endpoint,
    check_refresh,
    check_witness_vkey,
    parse_operator_key,
)
from node.files import PUBLIC_MODE, write_atomic


def text_or_file(value: str) -> str:
    """``value`` itself, or the first line of the file it names."""
    path = Path(value)
    if path.is_file():
        try:
            return path.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise FederationSetupError(f"{path}: cannot be read: {e}") from e
    return value.strip()


def join_federation(
    home: Path,
    *,
    broker: str,
    broker_cert: Path,
    operator_key: str,
    broker_witness: str | None = None,
    refresh_s: float = 60.0,
) -> NodeConfig:
    """Record the broker and the pins in the node home; returns the new configuration."""
    config = load_config(home)
    try:
        settings = FederationSettings(
            broker=check_endpoint(broker),
            broker_cert=f"{FEDERATION_DIR}/{BROKER_CERT_FILE}",
            broker_cert_sha256="0" * 64,
            operator_key=parse_operator_key(text_or_file(operator_key)),
            broker_witness=None
            if broker_witness is None
            else check_witness_vkey(text_or_file(broker_witness)),
            refresh_s=check_refresh(refresh_s),
        )
    except ValueError as e:
        raise FederationSetupError(str(e)) from e
    try:
        cert_pem = broker_cert.read_bytes()
        fingerprint = cert_fingerprint(cert_pem)
    except OSError as e:
        raise FederationSetupError(f"{broker_cert}: cannot be read ({e.strerror})") from e
    except CryptoError as e:
        raise FederationSetupError(f"{broker_cert}: {e}") from e
    settings = dataclasses.replace(settings, broker_cert_sha256=fingerprint)
    if held_path(config.home).exists():
        try:
            load_held(config.home, settings.operator_key)
        except FederationSetupError as e:
            raise FederationSetupError(
                f"this node holds a directory of another operator key ({held_path(home)}); "
                "a node changes federation only deliberately: move that file away first"
            ) from e
    folder = config.home / FEDERATION_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    write_atomic(folder / BROKER_CERT_FILE, cert_pem, mode=PUBLIC_MODE)
    joined = dataclasses.replace(config, federation=settings)
    write_atomic(config.home / CONFIG_FILE, write_config(joined))
    return joined
