"""A node's public card read from bytes and checked against its certificate."""

from __future__ import annotations

import datetime as dt

import pytest
import tomli_w

from crypto.cards import CardError, parse_card
from crypto.certs import new_tls_identity
from crypto.keys import KeyKind, encode_public

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
TLS = new_tls_identity("alpha-pd", now=NOW)


def _card(**node: str) -> bytes:
    doc = {
        "node": {
            "name": "alpha-pd",
            "ori": "CA0000001",
            "jurisdiction": "US-CA",
            "kind": "municipal",
        }
        | node,
        "keys": {
            "signing": encode_public(KeyKind.SIGNING, b"\x01" * 32),
            "log": encode_public(KeyKind.LOG, b"\x02" * 32),
            "witness": encode_public(KeyKind.WITNESS, b"\x03" * 32),
            "sealing": encode_public(KeyKind.SEALING, b"\x04" * 32),
            "tls_cert_sha256": TLS.fingerprint,
        },
    }
    return tomli_w.dumps(doc).encode()


def test_a_card_and_its_certificate() -> None:
    card = parse_card(_card(), TLS.cert_pem)
    assert (card.name, card.ori, card.jurisdiction, card.kind) == (
        "alpha-pd",
        "CA0000001",
        "US-CA",
        "municipal",
    )
    assert card.cert_sha256 == TLS.fingerprint
    assert (card.signing_key, card.sealing_key) == (b"\x01" * 32, b"\x04" * 32)


@pytest.mark.parametrize(
    ("card", "message"),
    [
        (b"not = [toml", "TOML"),
        (_card(kind="agency"), "kind"),
        (_card(ori="CA1"), "ori"),
        (_card(name="Alpha PD"), "name"),
        (_card(name="bravo-pd"), "another node"),
        (_card().replace(b"ed25519-log", b"ed25519-signing"), "log"),
    ],
)
def test_bad_cards_are_refused(card: bytes, message: str) -> None:
    with pytest.raises(CardError, match=message):
        parse_card(card, TLS.cert_pem)


def test_a_card_of_another_certificate_is_refused() -> None:
    other = new_tls_identity("alpha-pd", now=NOW)
    with pytest.raises(CardError, match="fingerprint"):
        parse_card(_card(), other.cert_pem)
    with pytest.raises(CardError):
        parse_card(_card(), b"not a certificate")
