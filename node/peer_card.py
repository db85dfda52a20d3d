"""A node's public card (``keys/public.toml``): who it is and its public keys.

The card is what an admin hands a neighbour (or the federation operator) together with
``tls/node.crt``. Reading it back checks it against the certificate, so a card and a
certificate of two different nodes cannot be paired by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tomli_w

from crypto.cards import CardCertificateMismatchError, CardError, parse_card
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
    """Read a card and its certificate; raises :class:`ConfigError` naming the bad file.

    The grammar and the card-to-certificate checks are :func:`crypto.cards.parse_card`'s
    (the broker reads cards with it too); here the files are read and the result typed.
    """
    try:
        card_bytes = card_path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(card_path, "not found") from e
    except OSError as e:
        raise ConfigError(card_path, "cannot be read") from e
    try:
        cert_pem = cert_path.read_bytes()
    except OSError as e:
        raise ConfigError(cert_path, "cannot be read") from e
    try:
        card = parse_card(card_bytes, cert_pem)
        return PeerCard(
            name=validate_name(card.name),
            ori=validate_ori(card.ori),
            jurisdiction=Jurisdiction.parse(card.jurisdiction),
            kind=AgencyKind(card.kind),
            cert_pem=card.cert_pem,
            cert_sha256=card.cert_sha256,
            signing_key=card.signing_key,
            log_key=card.log_key,
            witness_key=card.witness_key,
            sealing_key=card.sealing_key,
        )
    except CardCertificateMismatchError as e:
        raise ConfigError(cert_path, str(e)) from e
    except CardError as e:
        raise ConfigError(card_path, str(e)) from e
    except (TypeError, ValueError) as e:
        raise ConfigError(card_path, f"incomplete or invalid card: {e}") from e
