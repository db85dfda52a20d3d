"""The agreement document: who may ask whom, what, why, and for how long.

An :class:`Agreement` is data only: frozen, validated on construction, encoded to one
canonical byte string (:meth:`Agreement.canonical_bytes`) whose SHA-256 both ledgers
record (:meth:`Agreement.digest`) and both admins sign (:mod:`node.policy.signing`). A new
version of an agreement is a new document with the same ``id`` and a higher ``version``.

The JSON form, with sets written as sorted arrays and times as ``YYYY-MM-DDTHH:MM:SSZ``::

    {"format": "accord/agreement/v1", "id": "oak-sf-2025", "version": 1,
     "requester": {"node_id": "oakland-pd", "name": "Oakland Police Department",
                   "ori": "CA0010900", "jurisdiction": "US-CA", "kind": "municipal",
                   "signing_key": "accord-ed25519-signing-public-v1:..."},
     "responder": {...},
     "query_kinds": ["hit_query"], "purposes": ["stolen-vehicle"],
     "case_number": {"required": true, "pattern": "^[0-9]{2}-[0-9]{5}$"},
     "window_days": 30, "label_detail": "DAY_AND_CITY",
     "rate_limit": {"plates_per_day": 5000, "max_batch": 1000},
     "alert_categories": [], "retention_days": 90,
     "onward_sharing_banned": true, "confusable_folding": true,
     "valid_from": "2025-01-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"}

:meth:`Agreement.from_json` and :meth:`Agreement.from_canonical_bytes` are strict: unknown,
missing and ill-typed fields raise :class:`~node.policy.errors.InvalidAgreementError`
naming the field.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from dataclasses import dataclass

from crypto.canonical_json import CanonicalJsonError, JsonValue, dumps, loads
from crypto.errors import KeyEncodingError
from crypto.keys import KeyKind, decode_public, encode_public
from node.config import AgencyKind, Jurisdiction, validate_name, validate_ori
from node.ids import AgreementId, NodeId
from node.policy._fields import (
    Fields,
    check_codes,
    check_int,
    check_text,
    check_time,
    format_time,
    prefixed,
    require_aware,
)
from node.policy.case_number import CaseNumberRule
from node.policy.errors import InvalidAgreementError

#: Format tag inside every agreement document, and the domain of its hash and signatures.
AGREEMENT_FORMAT = "accord/agreement/v1"
MAX_WINDOW_DAYS = 3660
MAX_RETENTION_DAYS = 3660
MAX_PLATES_PER_DAY = 10_000_000

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_E = InvalidAgreementError


class QueryKind(enum.StrEnum):
    """What a requester may do under an agreement."""

    HIT_QUERY = "hit_query"  # ask for hits on a batch of plates over a window
    INDEX_STREAM = "index_stream"  # receive the responder's encrypted index entries
    ALERTS = "alerts"  # match a hotlist against the stream as it arrives


class LabelDetail(enum.StrEnum):
    """How much a hit reveals, from least to most."""

    HIT_ONLY = "HIT_ONLY"
    DAY_AND_CITY = "DAY_AND_CITY"
    TIME_CAMERA_PLACE = "TIME_CAMERA_PLACE"
    IMAGE_REFERENCE = "IMAGE_REFERENCE"

    @property
    def level(self) -> int:
        """0 for :attr:`HIT_ONLY` up to 3 for :attr:`IMAGE_REFERENCE`."""
        return list(LabelDetail).index(self)


class Role(enum.StrEnum):
    """A party's side of an agreement. Data flows from the responder to the requester."""

    REQUESTER = "requester"
    RESPONDER = "responder"


@dataclass(frozen=True, slots=True)
class Party:
    """One agency in an agreement, with the key its admin signs with."""

    node_id: NodeId
    name: str
    ori: str
    jurisdiction: Jurisdiction
    kind: AgencyKind
    signing_key: bytes

    def __post_init__(self) -> None:
        for field, check in (("node_id", validate_name), ("ori", validate_ori)):
            value = getattr(self, field)
            try:
                check(value if isinstance(value, str) else "")
            except ValueError as e:
                raise _E(str(e), field) from None
        check_text(self.name, "name", _E, max_len=200)
        if not isinstance(self.jurisdiction, Jurisdiction):
            raise _E("must be a Jurisdiction", "jurisdiction")
        if not isinstance(self.kind, AgencyKind):
            raise _E("must be an AgencyKind", "kind")
        if not isinstance(self.signing_key, bytes) or len(self.signing_key) != 32:
            raise _E("must be a 32-byte Ed25519 public key", "signing_key")

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "node_id": self.node_id,
            "name": self.name,
            "ori": self.ori,
            "jurisdiction": str(self.jurisdiction),
            "kind": self.kind.value,
            "signing_key": encode_public(KeyKind.SIGNING, self.signing_key),
        }

    @classmethod
    def _read(cls, f: Fields) -> Party:
        node_id, name, ori = f.string("node_id"), f.string("name"), f.string("ori")
        jurisdiction_text, kind_text = f.string("jurisdiction"), f.string("kind")
        key_text = f.string("signing_key")
        f.finish()
        try:
            jurisdiction = Jurisdiction.parse(jurisdiction_text)
        except ValueError as e:
            raise f.fail("jurisdiction", str(e)) from None
        try:
            kind = AgencyKind(kind_text)
        except ValueError:
            kinds = ", ".join(k.value for k in AgencyKind)
            raise f.fail("kind", f"must be one of {kinds}") from None
        try:
            key = decode_public(KeyKind.SIGNING, key_text)
        except KeyEncodingError as e:
            raise f.fail("signing_key", str(e)) from None
        with prefixed(f.path):
            return cls(NodeId(node_id), name, ori, jurisdiction, kind, key)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Plates the responder evaluates for the requester: per UTC day, and per request."""

    plates_per_day: int
    max_batch: int

    def __post_init__(self) -> None:
        check_int(self.plates_per_day, "plates_per_day", _E, lo=1, hi=MAX_PLATES_PER_DAY)
        check_int(self.max_batch, "max_batch", _E, lo=1, hi=self.plates_per_day)


@dataclass(frozen=True, slots=True)
class Agreement:
    """A versioned agreement between a requester and a responder. See the module docs."""

    id: AgreementId
    version: int
    requester: Party
    responder: Party
    query_kinds: frozenset[QueryKind]
    purposes: frozenset[str]
    case_number: CaseNumberRule
    window_days: int
    label_detail: LabelDetail
    rate_limit: RateLimit
    alert_categories: frozenset[str]
    retention_days: int
    onward_sharing_banned: bool
    confusable_folding: bool
    valid_from: dt.datetime
    valid_until: dt.datetime

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise _E("must be 1-128 letters, digits, '.', '_' or '-'", "id")
        check_int(self.version, "version", _E, lo=1, hi=2**31 - 1)
        for role in Role:
            if not isinstance(getattr(self, role.value), Party):
                raise _E("must be a Party", role.value)
        if self.requester.node_id == self.responder.node_id:
            raise _E("requester and responder must be different nodes", "responder.node_id")
        if self.requester.signing_key == self.responder.signing_key:
            raise _E("the parties must sign with different keys", "responder.signing_key")
        kinds = self.query_kinds
        if not isinstance(kinds, frozenset) or not kinds:
            raise _E("must be a non-empty frozenset of QueryKind", "query_kinds")
        if not all(isinstance(k, QueryKind) for k in kinds):
            raise _E("must be a non-empty frozenset of QueryKind", "query_kinds")
        if QueryKind.ALERTS in kinds and QueryKind.INDEX_STREAM not in kinds:
            raise _E("alerts are matched against the index stream: allow both", "query_kinds")
        check_codes(self.purposes, "purposes", _E, allow_empty=False)
        if not isinstance(self.case_number, CaseNumberRule):
            raise _E("must be a CaseNumberRule", "case_number")
        check_int(self.window_days, "window_days", _E, lo=1, hi=MAX_WINDOW_DAYS)
        if not isinstance(self.label_detail, LabelDetail):
            raise _E("must be a LabelDetail", "label_detail")
        if not isinstance(self.rate_limit, RateLimit):
            raise _E("must be a RateLimit", "rate_limit")
        check_codes(self.alert_categories, "alert_categories", _E, allow_empty=True)
        if (QueryKind.ALERTS in kinds) != bool(self.alert_categories):
            raise _E(
                "list the hotlist categories if and only if alerts are allowed", "alert_categories"
            )
        check_int(self.retention_days, "retention_days", _E, lo=0, hi=MAX_RETENTION_DAYS)
        for flag in ("onward_sharing_banned", "confusable_folding"):
            if not isinstance(getattr(self, flag), bool):
                raise _E("must be true or false", flag)
        check_time(self.valid_from, "valid_from", _E)
        check_time(self.valid_until, "valid_until", _E)
        if self.valid_until <= self.valid_from:
            raise _E("must be after valid_from", "valid_until")

    # -- parties ---------------------------------------------------------------------------

    def party(self, role: Role) -> Party:
        return self.requester if Role(role) is Role.REQUESTER else self.responder

    def role_of(self, node_id: str) -> Role | None:
        """The role ``node_id`` plays in this agreement, or ``None`` if it is not a party."""
        for role in Role:
            if self.party(role).node_id == node_id:
                return role
        return None

    # -- time ------------------------------------------------------------------------------

    def expired(self, now: dt.datetime) -> bool:
        require_aware(now)
        return now >= self.valid_until

    def started(self, now: dt.datetime) -> bool:
        require_aware(now)
        return now >= self.valid_from

    # -- encoding --------------------------------------------------------------------------

    def to_json(self) -> dict[str, JsonValue]:
        """The JSON object of this agreement (sets as sorted arrays)."""
        return {
            "format": AGREEMENT_FORMAT,
            "id": self.id,
            "version": self.version,
            "requester": self.requester.to_json(),
            "responder": self.responder.to_json(),
            "query_kinds": sorted(k.value for k in self.query_kinds),
            "purposes": sorted(self.purposes),
            "case_number": {
                "required": self.case_number.required,
                "pattern": self.case_number.pattern,
            },
            "window_days": self.window_days,
            "label_detail": self.label_detail.value,
            "rate_limit": {
                "plates_per_day": self.rate_limit.plates_per_day,
                "max_batch": self.rate_limit.max_batch,
            },
            "alert_categories": sorted(self.alert_categories),
            "retention_days": self.retention_days,
            "onward_sharing_banned": self.onward_sharing_banned,
            "confusable_folding": self.confusable_folding,
            "valid_from": format_time(self.valid_from),
            "valid_until": format_time(self.valid_until),
        }

    def canonical_bytes(self) -> bytes:
        """The canonical JSON of :meth:`to_json`: what is hashed and signed."""
        return dumps(self.to_json())

    def digest(self) -> bytes:
        """SHA-256 over ``accord/agreement/v1\\n`` and the canonical bytes: the agreement
        hash both ledgers record."""
        return hashlib.sha256(AGREEMENT_FORMAT.encode() + b"\n" + self.canonical_bytes()).digest()

    @classmethod
    def from_canonical_bytes(cls, data: bytes) -> Agreement:
        """Parse bytes that MUST be canonical JSON of an agreement."""
        try:
            obj = loads(data)
        except CanonicalJsonError as e:
            raise _E(f"not canonical JSON ({e})") from None
        return cls.from_json(obj)

    @classmethod
    def from_json(cls, obj: object) -> Agreement:
        """Parse a JSON object (as from ``json.loads``) strictly into an agreement."""
        f = Fields(obj, _E)
        fmt = f.string("format")
        if fmt != AGREEMENT_FORMAT:
            raise f.fail("format", f"must be {AGREEMENT_FORMAT!r}")
        ident, version = f.string("id"), f.integer("version")
        requester = Party._read(f.object("requester"))
        responder = Party._read(f.object("responder"))
        kind_texts = f.string_set("query_kinds")
        purposes = f.string_set("purposes")
        cn = f.object("case_number")
        case_number = (cn.boolean("required"), cn.optional_string("pattern"))
        cn.finish()
        window_days = f.integer("window_days")
        detail_text = f.string("label_detail")
        rl = f.object("rate_limit")
        rate = (rl.integer("plates_per_day"), rl.integer("max_batch"))
        rl.finish()
        categories = f.string_set("alert_categories")
        retention_days = f.integer("retention_days")
        onward, folding = f.boolean("onward_sharing_banned"), f.boolean("confusable_folding")
        valid_from, valid_until = f.time("valid_from"), f.time("valid_until")
        f.finish()
        try:
            kinds = frozenset(QueryKind(k) for k in kind_texts)
        except ValueError:
            allowed = ", ".join(k.value for k in QueryKind)
            raise f.fail("query_kinds", f"entries must be among {allowed}") from None
        try:
            detail = LabelDetail(detail_text)
        except ValueError:
            allowed = ", ".join(d.value for d in LabelDetail)
            raise f.fail("label_detail", f"must be one of {allowed}") from None
        with prefixed("case_number"):
            case_rule = CaseNumberRule(*case_number)
        with prefixed("rate_limit"):
            rate_limit = RateLimit(*rate)
        return cls(
            id=AgreementId(ident),
            version=version,
            requester=requester,
            responder=responder,
            query_kinds=kinds,
            purposes=purposes,
            case_number=case_rule,
            window_days=window_days,
            label_detail=detail,
            rate_limit=rate_limit,
            alert_categories=categories,
            retention_days=retention_days,
            onward_sharing_banned=onward,
            confusable_folding=folding,
            valid_from=valid_from,
            valid_until=valid_until,
        )
