"""A node's public card (``keys/public.toml``): who it is and its public keys.

The card is what an admin hands a neighbour (or the federation operator) together with
``tls/node.crt``. Reading it back checks it against the certificate, so a card and a
certificate of two different nodes cannot be paired by mistake.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from crypto.certs import cert_common_name, cert_fingerprint
from crypto.errors import CryptoError
from crypto.keys import KeyKind, decode_public
from node.config import AgencyKind, Jurisdiction, NodeConfig, validate_name, validate_ori
from node.errors import ConfigError
from node.identity import NodeKeys


@dataclass(frozen=True, slots=True)
class PeerCard:
    """The public identity of a node, as read from its card and certificate."""

    name: str
    ori: str
    jurisdiction: Jurisdiction
    kind: AgencyKind
    cert_pem: bytes
    cert_sha256: str
    signing_key: bytes
    log_key: bytes
    witness_key: bytes
    sealing_key: bytes


def public_card(config: NodeConfig, keys: NodeKeys) -> bytes:
    """The TOML bytes of ``keys/public.toml`` for this node."""
    doc = {
        "node": {
            "name": config.name,
            "ori": config.ori,
            "jurisdiction": str(config.jurisdiction),
            "kind": config.kind.value,
        },
        "keys": keys.public_summary(),
    }
    return tomli_w.dumps(doc).encode()


def read_peer_card(card_path: Path, cert_path: Path) -> PeerCard:
    """Read a card and its certificate; raises :class:`ConfigError` naming the bad file."""
    try:
        doc = tomllib.loads(card_path.read_text("utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(card_path, "not found") from e
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(card_path, f"is not a readable TOML card: {e}") from e
    try:
        cert_pem = cert_path.read_bytes()
    except OSError as e:
        raise ConfigError(cert_path, "cannot be read") from e
    try:
        node = doc["node"]
        keys = doc["keys"]
        card = PeerCard(
            name=validate_name(node["name"]),
            ori=validate_ori(node["ori"]),
            jurisdiction=Jurisdiction.parse(node["jurisdiction"]),
            kind=AgencyKind(node["kind"]),
            cert_pem=cert_pem,
            cert_sha256=cert_fingerprint(cert_pem),
            signing_key=decode_public(KeyKind.SIGNING, keys["signing"]),
            log_key=decode_public(KeyKind.LOG, keys["log"]),
            witness_key=decode_public(KeyKind.WITNESS, keys["witness"]),
            sealing_key=decode_public(KeyKind.SEALING, keys["sealing"]),
        )
        pinned = keys["tls_cert_sha256"]
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(card_path, f"incomplete or invalid card: {e}") from e
    except CryptoError as e:
        raise ConfigError(card_path, str(e)) from e
    if pinned != card.cert_sha256:
        raise ConfigError(cert_path, "does not match the certificate fingerprint in the card")
    if cert_common_name(cert_pem) != card.name:
        raise ConfigError(cert_path, f"names another node than {card.name}")
    return card
