"""A node's public card (``keys/public.toml``) read from bytes, for whoever must check one.

The node writes its card beside its certificate; the federation operator hands both to
``accord broker member add``. The broker never imports the node, so the card's grammar is
read here, pure: the caller reads the files and passes the bytes. Reading checks the card
against the certificate (the fingerprint it pins, and the node name the certificate
carries), so a card and a certificate of two different nodes cannot be paired by mistake.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

from crypto.certs import cert_common_name, cert_fingerprint
from crypto.errors import CryptoError
from crypto.keys import KeyKind, decode_public

_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ORI = re.compile(r"^[A-Z]{2}[A-Z0-9]{7}$")
_JURISDICTION = re.compile(r"^[A-Z]{2}(?:-[A-Z0-9]{1,3})?$")
_KINDS = frozenset({"municipal", "county", "state", "federal", "tribal", "private"})


class CardError(CryptoError):
    """A card is malformed, or does not belong to the certificate it came with."""


class CardCertificateMismatchError(CardError):
    """The certificate is not the one the card pins, or names another node."""


@dataclass(frozen=True, slots=True)
class NodeCard:
    """A node's public identity: who it says it is and its four public keys (raw bytes)."""

    name: str
    ori: str
    jurisdiction: str
    kind: str
    cert_pem: bytes
    cert_sha256: str
    signing_key: bytes
    log_key: bytes
    witness_key: bytes
    sealing_key: bytes


def _field(table: Any, key: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(table, dict) or not isinstance(table.get(key), str):
        raise CardError(f"card has no {key!r} string")
    value: str = table[key]
    if pattern is not None and not pattern.match(value):
        raise CardError(f"card {key} {value!r} is not valid")
    return value


def parse_card(card_toml: bytes, cert_pem: bytes) -> NodeCard:
    """Decode a card and check it against ``cert_pem``; raises :class:`CardError`."""
    try:
        doc = tomllib.loads(card_toml.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CardError(f"card is not valid TOML: {e}") from e
    node, keys = doc.get("node"), doc.get("keys")
    kind = _field(node, "kind")
    if kind not in _KINDS:
        raise CardError(f"card kind {kind!r} is not one of {', '.join(sorted(_KINDS))}")
    try:
        fingerprint = cert_fingerprint(cert_pem)
        card = NodeCard(
            name=_field(node, "name", _NAME),
            ori=_field(node, "ori", _ORI),
            jurisdiction=_field(node, "jurisdiction", _JURISDICTION),
            kind=kind,
            cert_pem=cert_pem,
            cert_sha256=fingerprint,
            signing_key=decode_public(KeyKind.SIGNING, _field(keys, "signing")),
            log_key=decode_public(KeyKind.LOG, _field(keys, "log")),
            witness_key=decode_public(KeyKind.WITNESS, _field(keys, "witness")),
            sealing_key=decode_public(KeyKind.SEALING, _field(keys, "sealing")),
        )
        common_name = cert_common_name(cert_pem)
    except CardError:
        raise
    except CryptoError as e:
        raise CardError(str(e)) from e
    if _field(keys, "tls_cert_sha256") != fingerprint:
        raise CardCertificateMismatchError(
            "the certificate does not match the fingerprint the card pins"
        )
    if common_name != card.name:
        raise CardCertificateMismatchError(f"the certificate names another node than {card.name}")
    return card
