"""The signed agreement as evidence: one file with the terms and both admins' signatures.

``accord agreement export`` writes it; ``accord audit check`` reads it. The file is the
canonical JSON (:mod:`crypto.canonical_json`) of::

    {"format": "accord/signed-agreement/v1",
     "agreement": {...the accord/agreement/v1 document, exactly as signed...},
     "agreement_sha256": "<hex of SHA-256("accord/agreement/v1\\n" || canonical terms)>",
     "signatures": [{"role": "requester", "signature": "<base64>"},
                    {"role": "responder", "signature": "<base64>"}]}

followed by one newline. Reading is strict (:func:`read_signed_agreement`): the bytes must
be canonical, the stated hash must be the hash of the terms, and every signature must
verify under the key the terms name for that role. The keys come from the terms
themselves, so a document alone proves nothing about who the parties are: what binds it is
its hash, which both parties' ledgers (each verified against its own log key) record in
``agreement.created``. The auditor therefore accepts a document only for a hash a verified
ledger records, and reports one that hashes to anything else.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from accord.legal.errors import SignedAgreementError
from crypto import sign as ed25519
from crypto.canonical_json import CanonicalJsonError, JsonValue, dumps, loads
from crypto.errors import KeyEncodingError, SignatureError
from crypto.keys import KeyKind, decode_public

EXPORT_FORMAT: Final = "accord/signed-agreement/v1"
#: The format tag inside the terms, and the domain of their hash and signatures.
AGREEMENT_FORMAT: Final = "accord/agreement/v1"
ROLES: Final = ("requester", "responder")
#: An agreement document is a few kilobytes; anything far larger is not one.
MAX_EXPORT_BYTES: Final = 256 * 1024

_E = SignedAgreementError
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def agreement_digest(terms: Mapping[str, JsonValue]) -> bytes:
    """SHA-256 over ``accord/agreement/v1\\n`` and the canonical terms: the agreement
    hash both ledgers record (the same as :meth:`node.policy.Agreement.digest`)."""
    return hashlib.sha256(AGREEMENT_FORMAT.encode() + b"\n" + dumps(terms)).digest()


@dataclass(frozen=True, slots=True)
class PartyFacts:
    """What the auditor reads of one party."""

    node_id: str
    ori: str
    jurisdiction: str
    kind: str
    signing_key: bytes


@dataclass(frozen=True, slots=True)
class SignedAgreementDocument:
    """A verified export: the terms, their hash and the roles whose signature verified."""

    terms: Mapping[str, JsonValue]
    digest_hex: str
    signed_by: frozenset[str]
    agreement_id: str
    version: int
    requester: PartyFacts
    responder: PartyFacts
    query_kinds: frozenset[str]
    purposes: frozenset[str]
    window_days: int
    plates_per_day: int
    max_batch: int
    valid_from: dt.datetime
    valid_until: dt.datetime

    @property
    def fully_signed(self) -> bool:
        return self.signed_by == frozenset(ROLES)

    def party(self, role: str) -> PartyFacts:
        return self.requester if role == "requester" else self.responder


def encode_signed_agreement(
    terms: Mapping[str, JsonValue], signatures: Mapping[str, bytes]
) -> bytes:
    """The export file for ``terms`` (the agreement's JSON form) and the signatures by
    role. Verifies what it writes, so a bad signature never leaves the node in a file."""
    for role in signatures:
        if role not in ROLES:
            raise _E(f"unknown role {role!r}")
    doc: dict[str, JsonValue] = {
        "format": EXPORT_FORMAT,
        "agreement": dict(terms),
        "agreement_sha256": agreement_digest(terms).hex(),
        "signatures": [
            {"role": role, "signature": base64.b64encode(signatures[role]).decode("ascii")}
            for role in ROLES
            if role in signatures
        ],
    }
    data = dumps(doc) + b"\n"
    read_signed_agreement(data)
    return data


def _field(obj: Mapping[str, JsonValue], key: str, kind: type, where: str) -> JsonValue:
    value = obj.get(key)
    if isinstance(value, bool) and kind is not bool:
        raise _E(f"{where}{key} must be a {kind.__name__}")
    if not isinstance(value, kind):
        raise _E(f"{where}{key} must be a {kind.__name__}")
    return value


def _text(obj: Mapping[str, JsonValue], key: str, where: str = "") -> str:
    value = _field(obj, key, str, where)
    assert isinstance(value, str)
    return value


def _int(obj: Mapping[str, JsonValue], key: str, where: str = "") -> int:
    value = _field(obj, key, int, where)
    assert isinstance(value, int)
    return value


def _object(obj: Mapping[str, JsonValue], key: str, where: str = "") -> Mapping[str, JsonValue]:
    value = _field(obj, key, dict, where)
    assert isinstance(value, dict)
    return value


def _texts(obj: Mapping[str, JsonValue], key: str) -> frozenset[str]:
    value = _field(obj, key, list, "agreement.")
    assert isinstance(value, list)
    if not all(isinstance(v, str) for v in value) or len(set(value)) != len(value):
        raise _E(f"agreement.{key} must be a list of distinct strings")
    return frozenset(str(v) for v in value)


def _time(obj: Mapping[str, JsonValue], key: str) -> dt.datetime:
    text = _text(obj, key, "agreement.")
    try:
        return dt.datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        raise _E(f"agreement.{key} must be a UTC time like 2027-06-30T00:00:00Z") from None


def _party(terms: Mapping[str, JsonValue], role: str) -> PartyFacts:
    obj = _object(terms, role, "agreement.")
    where = f"agreement.{role}."
    try:
        key = decode_public(KeyKind.SIGNING, _text(obj, "signing_key", where))
    except KeyEncodingError as e:
        raise _E(f"{where}signing_key: {e}") from None
    return PartyFacts(
        node_id=_text(obj, "node_id", where),
        ori=_text(obj, "ori", where),
        jurisdiction=_text(obj, "jurisdiction", where),
        kind=_text(obj, "kind", where),
        signing_key=key,
    )


def read_signed_agreement(data: bytes) -> SignedAgreementDocument:
    """Parse and verify an export; raises :class:`SignedAgreementError`."""
    if len(data) > MAX_EXPORT_BYTES:
        raise _E(f"larger than {MAX_EXPORT_BYTES} bytes: not an agreement export")
    body = data[:-1] if data.endswith(b"\n") else data
    try:
        doc = loads(body)
    except CanonicalJsonError as e:
        raise _E(f"not canonical JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise _E(f"not an {EXPORT_FORMAT} document")
    expected = {"format", "agreement", "agreement_sha256", "signatures"}
    if set(doc) != expected:
        raise _E(f"fields must be exactly {', '.join(sorted(expected))}")
    terms = _object(doc, "agreement")
    if terms.get("format") != AGREEMENT_FORMAT:
        raise _E(f"agreement.format must be {AGREEMENT_FORMAT!r}")
    canonical = dumps(terms)
    digest = agreement_digest(terms)
    if _text(doc, "agreement_sha256") != digest.hex():
        raise _E("agreement_sha256 is not the hash of the terms it comes with")
    requester, responder = _party(terms, "requester"), _party(terms, "responder")
    signatures = doc["signatures"]
    if not isinstance(signatures, list) or len(signatures) > len(ROLES):
        raise _E("signatures must be a list of at most one per role")
    signed_by: set[str] = set()
    for i, item in enumerate(signatures):
        if not isinstance(item, dict) or set(item) != {"role", "signature"}:
            raise _E(f"signatures[{i}] must hold exactly role and signature")
        role = _text(item, "role", f"signatures[{i}].")
        if role not in ROLES or role in signed_by:
            raise _E(f"signatures[{i}].role must be requester or responder, once each")
        try:
            raw = base64.b64decode(_text(item, "signature", f"signatures[{i}]."), validate=True)
        except binascii.Error:
            raise _E(f"signatures[{i}].signature must be base64") from None
        key = (requester if role == "requester" else responder).signing_key
        try:
            ed25519.verify(key, AGREEMENT_FORMAT, canonical, raw)
        except SignatureError:
            raise _E(f"the {role}'s signature does not verify") from None
        signed_by.add(role)
    rate = _object(terms, "rate_limit", "agreement.")
    return SignedAgreementDocument(
        terms=terms,
        digest_hex=digest.hex(),
        signed_by=frozenset(signed_by),
        agreement_id=_text(terms, "id", "agreement."),
        version=_int(terms, "version", "agreement."),
        requester=requester,
        responder=responder,
        query_kinds=_texts(terms, "query_kinds"),
        purposes=_texts(terms, "purposes"),
        window_days=_int(terms, "window_days", "agreement."),
        plates_per_day=_int(rate, "plates_per_day", "agreement.rate_limit."),
        max_batch=_int(rate, "max_batch", "agreement.rate_limit."),
        valid_from=_time(terms, "valid_from"),
        valid_until=_time(terms, "valid_until"),
    )
