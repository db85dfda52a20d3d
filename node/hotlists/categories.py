"""Which hotlist categories a legal profile excludes from matching and sharing.

Profiles do not list their excluded categories anywhere: they are Cedar ``forbid`` rules
over ``context.categories`` (Illinois 625 ILCS 5/2-130 forbids ``immigration-violator``
and ``reproductive-health-care``, among others), and :class:`~node.policy.engine.PolicyEngine`
only decides whole requests (:meth:`~node.policy.engine.PolicyEngine.check_share`). So
this module asks the profile itself, the way ``check_share`` does, rather than keeping a
table of category codes beside the ``.cedar`` files that would drift from them when a
profile changes or a new one is added.

For each category it evaluates two ``ShareAlert`` requests that differ only in that
category: the node sharing alerts on it with its own agency (its ORI, jurisdiction and
kind, with a declaration on file: the most favourable recipient there is), and the same
request with no category. A category is excluded when the first request is refused by a
``forbid`` rule that does not refuse the second. Comparing the two keeps rules about the
recipient (out of state, federal, private) from looking like rules about the category.

Why the node's own matching obeys the answer too: a law that forbids handing ALPR
information to anyone, even the agency itself with every declaration in place, for some
category of enforcement forbids using it for that enforcement; matching a hotlist of that
category is such a use. Per-recipient rules stay :meth:`check_share`'s to apply when
alerts are shared. Use::

    profile = LegalProfile.load("us-il-2-130")
    excluded = excluded_categories(profile, ["stolen-vehicle", "immigration-violator"],
                                   ori="IL0160000", jurisdiction=Jurisdiction.parse("US-IL"),
                                   kind=AgencyKind.MUNICIPAL)
    # {"immigration-violator": ("il-2-130-no-immigration-enforcement",)}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from crypto.canonical_json import JsonValue
from node.config import AgencyKind, Jurisdiction
from node.policy.agreement import LabelDetail, QueryKind
from node.policy.engine import SHARE_ALERT
from node.policy.profile import LegalProfile

_PROBE_NODE = "hotlist-category-probe"


def excluded_categories(
    profile: LegalProfile,
    categories: Iterable[str],
    *,
    ori: str,
    jurisdiction: Jurisdiction,
    kind: AgencyKind,
) -> dict[str, tuple[str, ...]]:
    """The ``categories`` that ``profile`` excludes, each with the ids of the rules that do.

    ``ori``, ``jurisdiction`` and ``kind`` are the local agency's. Categories it does not
    exclude are absent from the answer. Raises
    :class:`~node.policy.errors.PolicyEvaluationError` if Cedar cannot evaluate a request.
    """
    principal: dict[str, JsonValue] = {
        "node_id": _PROBE_NODE,
        "ori": ori,
        "jurisdiction": str(jurisdiction),
        "country": jurisdiction.country,
        "kind": kind.value,
    }
    control = _forbids(profile, principal, ori, None)
    excluded: dict[str, tuple[str, ...]] = {}
    for category in sorted(set(categories)):
        found = tuple(r for r in _forbids(profile, principal, ori, category) if r not in control)
        if found:
            excluded[category] = found
    return excluded


def allowed_categories(
    profile: LegalProfile,
    categories: Iterable[str],
    *,
    ori: str,
    jurisdiction: Jurisdiction,
    kind: AgencyKind,
) -> frozenset[str]:
    """The ``categories`` that ``profile`` does not exclude (see :func:`excluded_categories`)."""
    wanted = frozenset(categories)
    excluded = excluded_categories(profile, wanted, ori=ori, jurisdiction=jurisdiction, kind=kind)
    return wanted - excluded.keys()


def _forbids(
    profile: LegalProfile, principal: Mapping[str, JsonValue], ori: str, category: str | None
) -> tuple[str, ...]:
    """The ids of the forbid rules that refuse sharing alerts on ``category`` (or none)."""
    shared: list[JsonValue] = [] if category is None else [category]
    resource: dict[str, JsonValue] = {
        "id": "hotlist-category-probe",
        "version": 1,
        "query_kinds": [QueryKind.ALERTS.value],
        "purposes": [],
        "alert_categories": shared,
        "window_days": 1,
        "label_detail": LabelDetail.HIT_ONLY.value,
        "retention_days": 1,
        "case_number_required": True,
        "onward_sharing_banned": True,
        "plates_per_day": 1,
        "max_batch": 1,
    }
    context: dict[str, JsonValue] = {
        "in_force": True,
        "local_shares": True,
        "declaration_on_file": True,
        "recipient_ori": ori,
        "query_kind": QueryKind.ALERTS.value,
        "purposes": [],
        "categories": shared,
    }
    decision = profile.evaluate(SHARE_ALERT, principal, resource, context)
    if decision.allowed:
        return ()
    return tuple(r for r in decision.rule_ids if profile.rules[r].effect == "forbid")
