"""The signed body of a hit query (``accord/hit-query/v2``), and the commitments both logs keep.

The requester encodes the body once, canonically, and signs exactly those bytes; the
responder verifies the signature over the bytes it received and parses them strictly.
Both ledgers then record the same ``q_commit = SHA-256(tag || salt || body)`` (with the
salt, chosen by the requester, inside the body) and the same ``case_commit``, so an
auditor can pair the two sides of an exchange without seeing the case number, let alone
a plate. The body holds no plate and nothing derived from one but the SHA-256 of the
blinded elements, which are uniformly random to anyone without the blinds::

    body = HitQueryBody(...).encode()
    signature = sign(signing_key, HIT_QUERY_DOMAIN, body)
    parsed = HitQueryBody.decode(body)          # strict: InvalidQueryError on any fault
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from crypto.canonical_json import CanonicalJsonError, JsonValue, dumps, loads
from crypto.entries import q_commit
from node.ids import AgreementId, NodeId, RequestId
from node.policy._fields import Fields, format_time
from node.policy.agreement import QueryKind
from node.policy.errors import InvalidQueryError
from node.policy.query import QueryContext, ShareContext

#: v2: the answer proves all epochs over one shared composite (``blind_evaluate_multi``,
#: ADR 0008), and index entries are derived by keyed BLAKE2b (``crypto.index``); a v1
#: requester would verify neither, so its queries are refused by their format.
HIT_QUERY_DOMAIN = "accord/hit-query/v2"
_CASE_TAG = b"accord/case-commit/v1\n"
_E = InvalidQueryError
#: Largest hit query body accepted (bytes); it holds no elements, only their hash.
MAX_BODY = 4096
MAX_EPOCHS = 366


def elements_digest(elements: Sequence[bytes]) -> str:
    """SHA-256 of the blinded elements in order (each 32 bytes), lower-case hex."""
    return hashlib.sha256(b"".join(elements)).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class HitQueryBody:
    """What a requester signs: who asks whom, under which agreement, why, for what."""

    request_id: RequestId
    requester: NodeId
    responder: NodeId
    ori: str
    agreement_id: AgreementId
    agreement_version: int
    purpose: str
    case_number: str
    #: The asking officer's keyed pseudonym at the requester (hex).
    user: str
    window_days: int
    epochs: tuple[int, ...]
    batch_size: int
    elements_sha256: str
    salt: bytes
    time: dt.datetime
    #: ``hit_query`` (plates over a window) or ``alerts`` (a hotlist armed for the epochs
    #: asked, to match the index stream as it arrives).
    kind: QueryKind = QueryKind.HIT_QUERY
    #: The hotlist categories of the plates, for ``alerts`` (empty for a hit query).
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in (QueryKind.HIT_QUERY, QueryKind.ALERTS):
            raise _E("must be hit_query or alerts", "kind")
        if (self.kind is QueryKind.ALERTS) != bool(self.categories):
            raise _E("alerts name their categories; hit queries name none", "categories")
        if list(self.categories) != sorted(set(self.categories)):
            raise _E("must be distinct and sorted", "categories")

    def share(self) -> ShareContext:
        """The policy's view of an ``alerts`` query."""
        return ShareContext(
            agreement_id=self.agreement_id,
            requester=self.requester,
            ori=self.ori,
            kind=QueryKind.ALERTS,
            categories=frozenset(self.categories),
        )

    def context(self) -> QueryContext:
        """The policy's view of the query (validated on construction)."""
        return QueryContext(
            agreement_id=self.agreement_id,
            requester=self.requester,
            user=self.user,
            ori=self.ori,
            purpose=self.purpose,
            case_number=self.case_number,
            window_days=self.window_days,
            batch_size=self.batch_size,
        )

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "format": HIT_QUERY_DOMAIN,
            "request_id": self.request_id,
            "requester": self.requester,
            "responder": self.responder,
            "ori": self.ori,
            "agreement_id": self.agreement_id,
            "agreement_version": self.agreement_version,
            "purpose": self.purpose,
            "case_number": self.case_number,
            "user": self.user,
            "window_days": self.window_days,
            "epochs": list(self.epochs),
            "batch_size": self.batch_size,
            "elements_sha256": self.elements_sha256,
            "salt": base64.b64encode(self.salt).decode("ascii"),
            "time": format_time(self.time),
            "kind": self.kind.value,
            "categories": list(self.categories),
        }

    def encode(self) -> bytes:
        self.context()  # refuse to encode what a responder would refuse to parse
        return dumps(self.to_json())

    @classmethod
    def decode(cls, body: bytes) -> HitQueryBody:
        """Parse a received body; raises :class:`InvalidQueryError` naming the field."""
        if len(body) > MAX_BODY:
            raise _E(f"is {len(body)} bytes, more than {MAX_BODY}", "query.body")
        try:
            obj = loads(body)
        except CanonicalJsonError as error:
            raise _E(f"is not canonical JSON: {error}", "query.body") from None
        f = Fields(obj, _E)
        if f.string("format") != HIT_QUERY_DOMAIN:
            raise f.fail("format", f"must be {HIT_QUERY_DOMAIN}")
        epochs_raw = f.array("epochs", max_items=MAX_EPOCHS)
        salt_text = f.string("salt")
        try:
            salt = base64.b64decode(salt_text, validate=True)
        except binascii.Error:
            raise f.fail("salt", "must be base64") from None
        if len(salt) != 32:
            raise f.fail("salt", "must be 32 bytes")
        epochs: list[int] = []
        for day in epochs_raw:
            if type(day) is not int or not 0 <= day < 2**32:  # bool is not a day number
                raise f.fail("epochs", "must be day numbers")
            epochs.append(day)
        if epochs != sorted(set(epochs)) or not epochs:
            raise f.fail("epochs", "must be distinct, ascending and not empty")
        kind_text = f.string("kind")
        try:
            kind = QueryKind(kind_text)
        except ValueError:
            raise f.fail("kind", "must be hit_query or alerts") from None
        categories_raw = f.array("categories", max_items=64)
        if not all(isinstance(c, str) for c in categories_raw):
            raise f.fail("categories", "must be strings")
        categories = tuple(str(c) for c in categories_raw)
        digest = f.string("elements_sha256")
        if len(digest) != 64 or digest.strip("0123456789abcdef"):
            raise f.fail("elements_sha256", "must be 64 lower-case hex digits")
        parsed = cls(
            request_id=RequestId(f.string("request_id")),
            requester=NodeId(f.string("requester")),
            responder=NodeId(f.string("responder")),
            ori=f.string("ori"),
            agreement_id=AgreementId(f.string("agreement_id")),
            agreement_version=f.integer("agreement_version"),
            purpose=f.string("purpose"),
            case_number=f.string("case_number"),
            user=f.string("user"),
            window_days=f.integer("window_days"),
            epochs=tuple(epochs),
            batch_size=f.integer("batch_size"),
            elements_sha256=digest,
            salt=salt,
            time=f.time("time"),
            kind=kind,
            categories=categories,
        )
        f.finish()
        if not 0 < len(parsed.request_id) <= 64 or not parsed.request_id.isprintable():
            raise _E("must be 1-64 printable characters", "request_id")
        if len(parsed.epochs) > parsed.window_days:
            raise _E("asks more epochs than its window has days", "epochs")
        parsed.context()
        if parsed.kind is QueryKind.ALERTS:
            parsed.share()
        return parsed

    def q_commit(self, body: bytes) -> str:
        """The query commitment both ledgers record for these exact body bytes."""
        return q_commit(self.salt, body)

    def case_commit(self) -> str:
        """A commitment to the case number (salted by the query), for the ledgers."""
        return hashlib.sha256(_CASE_TAG + self.salt + self.case_number.encode()).hexdigest()
