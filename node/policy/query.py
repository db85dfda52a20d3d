"""What a request carries, as the responder's policy sees it.

:class:`QueryContext` is a hit query (plates over a look-back window); :class:`ShareContext`
is the responder streaming its index entries to the requester, plain or for alerts on the
named hotlist categories. Neither carries a plate or anything derived from one.

Both are validated on construction and parsed strictly with ``from_json``: a request that
lacks a field is refused with :class:`~node.policy.errors.InvalidQueryError` before any
policy is evaluated, so no rule ever decides on a half-filled request.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.canonical_json import JsonValue
from node.config import validate_name, validate_ori
from node.ids import AgreementId, NodeId
from node.policy._fields import Fields, check_codes, check_int, check_text
from node.policy.agreement import MAX_WINDOW_DAYS, QueryKind
from node.policy.case_number import MAX_CASE_NUMBER
from node.policy.errors import InvalidQueryError

_E = InvalidQueryError
MAX_BATCH = 1_000_000


def _check_common(agreement_id: object, requester: object, ori: object) -> None:
    check_text(agreement_id, "agreement_id", _E, max_len=128)
    for field, value, check in (
        ("requester", requester, validate_name),
        ("ori", ori, validate_ori),
    ):
        try:
            check(value if isinstance(value, str) else "")
        except ValueError as e:
            raise _E(str(e), field) from None


@dataclass(frozen=True, slots=True)
class QueryContext:
    """A hit query: who asks (node, pseudonymous user, the ORI it asks for), why (purpose
    and case number), over how many days, and for how many plates.

    ``case_number`` is ``""`` when the requester gave none; whether that is allowed is the
    agreement's rule, not a parse error. An ``ori`` other than the requester's own means
    the query is made on another agency's behalf.
    """

    agreement_id: AgreementId
    requester: NodeId
    user: str
    ori: str
    purpose: str
    case_number: str
    window_days: int
    batch_size: int

    def __post_init__(self) -> None:
        _check_common(self.agreement_id, self.requester, self.ori)
        check_text(self.user, "user", _E, max_len=128)
        check_codes(frozenset({self.purpose}), "purpose", _E, allow_empty=False)
        if not isinstance(self.case_number, str) or len(self.case_number) > MAX_CASE_NUMBER:
            raise _E(f"must be a string of at most {MAX_CASE_NUMBER} characters", "case_number")
        if self.case_number and not self.case_number.isprintable():
            raise _E("must not contain control characters", "case_number")
        check_int(self.window_days, "window_days", _E, lo=1, hi=MAX_WINDOW_DAYS)
        check_int(self.batch_size, "batch_size", _E, lo=1, hi=MAX_BATCH)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "agreement_id": self.agreement_id,
            "requester": self.requester,
            "user": self.user,
            "ori": self.ori,
            "purpose": self.purpose,
            "case_number": self.case_number,
            "window_days": self.window_days,
            "batch_size": self.batch_size,
        }

    @classmethod
    def from_json(cls, obj: object) -> QueryContext:
        f = Fields(obj, _E)
        values = (
            AgreementId(f.string("agreement_id")),
            NodeId(f.string("requester")),
            f.string("user"),
            f.string("ori"),
            f.string("purpose"),
            f.string("case_number"),
            f.integer("window_days"),
            f.integer("batch_size"),
        )
        f.finish()
        return cls(*values)


@dataclass(frozen=True, slots=True)
class ShareContext:
    """The responder sharing its index stream: ``kind`` is ``INDEX_STREAM`` (for hit
    queries) or ``ALERTS`` (the requester matches its hotlist of ``categories`` against
    the stream as it arrives). ``categories`` is empty for a plain index stream."""

    agreement_id: AgreementId
    requester: NodeId
    ori: str
    kind: QueryKind
    categories: frozenset[str]

    def __post_init__(self) -> None:
        _check_common(self.agreement_id, self.requester, self.ori)
        if self.kind not in (QueryKind.INDEX_STREAM, QueryKind.ALERTS):
            raise _E("must be index_stream or alerts", "kind")
        check_codes(
            self.categories, "categories", _E, allow_empty=self.kind is not QueryKind.ALERTS
        )
        if self.kind is QueryKind.INDEX_STREAM and self.categories:
            raise _E("a plain index stream names no categories", "categories")

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "agreement_id": self.agreement_id,
            "requester": self.requester,
            "ori": self.ori,
            "kind": self.kind.value,
            "categories": sorted(self.categories),
        }

    @classmethod
    def from_json(cls, obj: object) -> ShareContext:
        f = Fields(obj, _E)
        agreement_id, requester = f.string("agreement_id"), f.string("requester")
        ori, kind_text = f.string("ori"), f.string("kind")
        categories = f.string_set("categories")
        f.finish()
        try:
            kind = QueryKind(kind_text)
        except ValueError:
            raise f.fail("kind", "must be index_stream or alerts") from None
        return cls(AgreementId(agreement_id), NodeId(requester), ori, kind, categories)
