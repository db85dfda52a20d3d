"""Policy decisions: the agreement's own terms, then the node's legal profile.

Every decision runs two layers and reports the stable id of every rule that decided:

1. **The agreement's terms**, checked in Python (ids ``agreement.*``, see
   :data:`AGREEMENT_RULES`): status and validity, the parties, purposes, window, case
   number, batch size and daily rate, query kinds, hotlist categories, onward sharing.
2. **The legal profile**, in Cedar: the baseline permits a request only when it matches
   the agreement, and the profile's ``forbid`` rules (ids such as ``ca-sb34-no-federal``)
   win over any permit. If nothing permits, the id is :data:`DEFAULT_DENY`.

A request is allowed only if layer 1 finds nothing and Cedar allows. When denied, the ids
of both layers are reported together, so the ledger and the requester learn every reason
at once. Requests are sans-IO: the clock (``now``), the plates already evaluated today and
the declarations on file are passed in::

    engine = PolicyEngine("us-ca-sb34")
    decision = engine.check_query(signed, query, now, used_today=1200)
    if not decision.allowed:
        ...  # decision.rule_ids goes to the ledger and the error details
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Set
from dataclasses import dataclass

from accord.legal.cedar_inputs import agency_attributes, agreement_attributes, sign_context
from crypto.canonical_json import JsonValue
from node.policy._fields import require_aware
from node.policy.agreement import Agreement, Party, QueryKind, Role
from node.policy.errors import PolicyDeniedError
from node.policy.profile import LegalProfile
from node.policy.query import QueryContext, ShareContext
from node.policy.signing import AgreementStatus, SignedAgreement

SIGN_AGREEMENT = "SignAgreement"
HONOUR_QUERY = "HonourQuery"
SHARE_ALERT = "ShareAlert"

#: Reported when no rule of the profile permits a request.
DEFAULT_DENY = "policy.default-deny"

#: The rules an agreement imposes by itself, by stable id.
AGREEMENT_RULES: Mapping[str, str] = {
    "agreement.party": "the node is not the party the action needs",
    "agreement.id": "the request names another agreement",
    "agreement.unsigned": "the agreement is not signed by both parties",
    "agreement.not-yet-valid": "the agreement's validity has not begun",
    "agreement.expired": "the agreement's validity has ended",
    "agreement.revoked": "a party revoked the agreement",
    "agreement.query-kind": "the agreement does not allow this kind of request",
    "agreement.purpose": "the purpose is not among the agreement's purposes",
    "agreement.window": "the look-back window is longer than the agreement allows",
    "agreement.case-number": "the case number is missing or not of the agreed form",
    "agreement.batch-size": "more plates in one request than the agreement allows",
    "agreement.rate-limit": "the agreement's daily plate limit would be exceeded",
    "agreement.alert-category": "a hotlist category the agreement does not share",
    "agreement.onward-sharing": "the agreement bans asking on another agency's behalf",
}

_STATUS_RULES = {
    AgreementStatus.PROPOSED: "agreement.unsigned",
    AgreementStatus.PENDING: "agreement.not-yet-valid",
    AgreementStatus.EXPIRED: "agreement.expired",
    AgreementStatus.REVOKED: "agreement.revoked",
}
_MAX_USED = 2**53


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one policy check.

    ``rule_ids`` are the rules that decided: the permits that allowed, or every rule that
    refused; ``reasons`` holds one line per id, in the same order.
    """

    action: str
    allowed: bool
    rule_ids: tuple[str, ...]
    reasons: tuple[str, ...]
    profile: str

    def to_json(self) -> dict[str, JsonValue]:
        """What the ledger records: no plate, no reason text, only ids."""
        return {
            "action": self.action,
            "allowed": self.allowed,
            "profile": self.profile,
            "rules": list(self.rule_ids),
        }

    def raise_if_denied(self) -> None:
        """Raise :class:`PolicyDeniedError` carrying the rule ids, unless allowed."""
        if not self.allowed:
            raise PolicyDeniedError(self.rule_ids, "; ".join(self.reasons))


def _agency(party: Party) -> dict[str, JsonValue]:
    # Built in accord.legal, so the auditor asks Cedar exactly what the node asks.
    return agency_attributes(party.to_json())


def _agreement(agreement: Agreement) -> dict[str, JsonValue]:
    return agreement_attributes(agreement.to_json())


class _Failures:
    """The agreement rules a request breaks, in the order they were found."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, rule_id: str, reason: str) -> None:
        assert rule_id in AGREEMENT_RULES, rule_id
        self.items.append((rule_id, reason))

    def status(self, signed: SignedAgreement, now: dt.datetime) -> AgreementStatus:
        status = signed.status(now)
        if status is not AgreementStatus.ACTIVE:
            self.add(_STATUS_RULES[status], f"agreement {signed.agreement.id} is {status.value}")
        return status

    def requester(self, agreement: Agreement, agreement_id: str, requester: str) -> None:
        if agreement_id != agreement.id:
            self.add("agreement.id", f"the request is for agreement {agreement_id}")
        if requester != agreement.requester.node_id:
            self.add("agreement.party", f"{requester} is not the requester of {agreement.id}")

    def onward(self, agreement: Agreement, ori: str) -> None:
        if ori != agreement.requester.ori and agreement.onward_sharing_banned:
            self.add(
                "agreement.onward-sharing",
                f"asked for ORI {ori}, not {agreement.requester.ori}, and onward sharing is banned",
            )


class PolicyEngine:
    """Decides, for one node and its legal profile, what it may sign and share."""

    def __init__(self, profile: LegalProfile | str) -> None:
        self.profile = profile if isinstance(profile, LegalProfile) else LegalProfile.load(profile)

    def _decide(
        self,
        action: str,
        agreement: Agreement,
        recipient: Party,
        context: dict[str, JsonValue],
        failures: _Failures,
    ) -> Decision:
        cedar = self.profile.evaluate(action, _agency(recipient), _agreement(agreement), context)
        rules = self.profile.rules
        cedar_lines = tuple(f"{rules[r].reason} ({rules[r].citation})" for r in cedar.rule_ids)
        name = self.profile.name
        if failures.items:
            forbids = () if cedar.allowed else cedar.rule_ids
            lines = () if cedar.allowed else cedar_lines
            return Decision(
                action,
                False,
                tuple(r for r, _ in failures.items) + forbids,
                tuple(reason for _, reason in failures.items) + lines,
                name,
            )
        if cedar.allowed or cedar.rule_ids:
            return Decision(action, cedar.allowed, cedar.rule_ids, cedar_lines, name)
        return Decision(
            action, False, (DEFAULT_DENY,), (f"no rule of profile {name} permits this",), name
        )

    # -- SignAgreement ---------------------------------------------------------------------

    def check_agreement(
        self,
        agreement: Agreement,
        local_party: str,
        now: dt.datetime,
        *,
        declarations: Set[str] = frozenset(),
    ) -> Decision:
        """May ``local_party`` sign (or accept) ``agreement`` at ``now``?

        ``declarations`` holds the ORIs whose signed declaration this node has on file
        (Illinois requires one from out-of-state recipients).
        """
        require_aware(now)
        failures = _Failures()
        role = agreement.role_of(local_party)
        if role is None:
            failures.add("agreement.party", f"{local_party} is not a party to {agreement.id}")
        expired = agreement.expired(now)
        if expired:
            failures.add("agreement.expired", f"agreement {agreement.id} has expired")
        recipient = agreement.requester
        context = sign_context(
            agreement.to_json(),
            local_is_party=role is not None,
            local_shares=role is Role.RESPONDER,
            declaration_on_file=recipient.ori in declarations,
            expired=expired,
        )
        return self._decide(SIGN_AGREEMENT, agreement, recipient, context, failures)

    def require_agreement(
        self,
        agreement: Agreement,
        local_party: str,
        now: dt.datetime,
        *,
        declarations: Set[str] = frozenset(),
    ) -> Decision:
        """:meth:`check_agreement`, raising :class:`PolicyDeniedError` when denied."""
        decision = self.check_agreement(agreement, local_party, now, declarations=declarations)
        decision.raise_if_denied()
        return decision

    # -- HonourQuery -----------------------------------------------------------------------

    def check_query(
        self,
        signed: SignedAgreement,
        query: QueryContext | Mapping[str, object],
        now: dt.datetime,
        *,
        used_today: int,
        declarations: Set[str] = frozenset(),
    ) -> Decision:
        """May this node, as the responder of ``signed``, answer ``query`` at ``now``?

        ``query`` may be a parsed :class:`QueryContext` or the raw mapping, which is parsed
        first: a missing or malformed field raises
        :class:`~node.policy.errors.InvalidQueryError` before any rule is evaluated.
        ``used_today`` is the number of plates already evaluated under this agreement
        during the current UTC day, not counting this query.
        """
        if not isinstance(query, QueryContext):
            query = QueryContext.from_json(query)
        require_aware(now)
        if isinstance(used_today, bool) or not isinstance(used_today, int):
            raise TypeError("used_today must be an int")
        if not 0 <= used_today <= _MAX_USED:
            raise ValueError("used_today is out of range")
        agreement = signed.agreement
        failures = _Failures()
        status = failures.status(signed, now)
        failures.requester(agreement, query.agreement_id, query.requester)
        if QueryKind.HIT_QUERY not in agreement.query_kinds:
            failures.add("agreement.query-kind", "the agreement does not allow hit queries")
        if query.purpose not in agreement.purposes:
            failures.add("agreement.purpose", f"purpose {query.purpose} is not in the agreement")
        if query.window_days > agreement.window_days:
            failures.add(
                "agreement.window",
                f"{query.window_days} days asked, the agreement allows {agreement.window_days}",
            )
        case_problem = agreement.case_number.violation(query.case_number)
        if case_problem:
            failures.add("agreement.case-number", case_problem)
        limit = agreement.rate_limit
        if query.batch_size > limit.max_batch:
            failures.add(
                "agreement.batch-size",
                f"{query.batch_size} plates in one query, the agreement allows {limit.max_batch}",
            )
        plates_today = used_today + query.batch_size
        if plates_today > limit.plates_per_day:
            failures.add(
                "agreement.rate-limit",
                f"{plates_today} plates today, the agreement allows {limit.plates_per_day}",
            )
        failures.onward(agreement, query.ori)
        context: dict[str, JsonValue] = {
            "in_force": status is AgreementStatus.ACTIVE,
            "local_shares": True,
            "declaration_on_file": query.ori in declarations,
            "recipient_ori": query.ori,
            "purposes": [query.purpose],
            "categories": [],
            "window_days": query.window_days,
            "case_number_ok": case_problem is None,
            "batch_size": query.batch_size,
            "plates_today": plates_today,
        }
        return self._decide(HONOUR_QUERY, agreement, agreement.requester, context, failures)

    def require_query(
        self,
        signed: SignedAgreement,
        query: QueryContext | Mapping[str, object],
        now: dt.datetime,
        *,
        used_today: int,
        declarations: Set[str] = frozenset(),
    ) -> Decision:
        """:meth:`check_query`, raising :class:`PolicyDeniedError` when denied."""
        decision = self.check_query(
            signed, query, now, used_today=used_today, declarations=declarations
        )
        decision.raise_if_denied()
        return decision

    # -- ShareAlert ------------------------------------------------------------------------

    def check_share(
        self,
        signed: SignedAgreement,
        share: ShareContext | Mapping[str, object],
        now: dt.datetime,
        *,
        declarations: Set[str] = frozenset(),
    ) -> Decision:
        """May this node, as the responder of ``signed``, stream its index entries (for
        hit queries, or for alerts on ``share.categories``) to the requester at ``now``?"""
        if not isinstance(share, ShareContext):
            share = ShareContext.from_json(share)
        require_aware(now)
        agreement = signed.agreement
        failures = _Failures()
        status = failures.status(signed, now)
        failures.requester(agreement, share.agreement_id, share.requester)
        if share.kind not in agreement.query_kinds:
            failures.add("agreement.query-kind", f"the agreement does not allow {share.kind}")
        outside = sorted(share.categories - agreement.alert_categories)
        if outside:
            failures.add(
                "agreement.alert-category", f"categories {', '.join(outside)} are not shared"
            )
        failures.onward(agreement, share.ori)
        context: dict[str, JsonValue] = {
            "in_force": status is AgreementStatus.ACTIVE,
            "local_shares": True,
            "declaration_on_file": share.ori in declarations,
            "recipient_ori": share.ori,
            "query_kind": share.kind.value,
            "purposes": sorted(agreement.purposes),
            "categories": sorted(share.categories),
        }
        return self._decide(SHARE_ALERT, agreement, agreement.requester, context, failures)

    def require_share(
        self,
        signed: SignedAgreement,
        share: ShareContext | Mapping[str, object],
        now: dt.datetime,
        *,
        declarations: Set[str] = frozenset(),
    ) -> Decision:
        """:meth:`check_share`, raising :class:`PolicyDeniedError` when denied."""
        decision = self.check_share(signed, share, now, declarations=declarations)
        decision.raise_if_denied()
        return decision
