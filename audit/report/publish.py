"""From exact figures to the published document: small counts suppressed, totals and rates
derived from the published cells only (:mod:`audit.report.suppress`).

The document is what ``report.json`` holds, and the HTML page is rendered from it alone,
so the page cannot show an exact count the JSON withholds. Its shape is versioned by
``format`` and ``version``; a consumer MUST check both.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from audit.report.agreements import IN_FORCE_RULE, Standing
from audit.report.figures import Figures
from audit.report.retention import DAY_CLASSES, PURGE_GRACE_MS
from audit.report.suppress import (
    MARKER,
    THRESHOLD,
    Cell,
    RateRange,
    Total,
    cell,
    rate_percent,
    total,
)

FORMAT: Final = "accord/transparency-report"
VERSION: Final = 1

SUPPRESSION_RULE: Final = (
    f"Counts of queries, plates, hits, refusals and deleted records from 1 to {THRESHOLD - 1} "
    f'are published as "{MARKER}". Each measure is broken down one way only, and every '
    "total and rate is computed from the published cells (a suppressed cell counts as 1 to "
    f"{THRESHOLD - 1}), so a total is a range whenever a cell under it is suppressed and "
    "cannot be used to work out a suppressed cell."
)

Json = dict[str, Any]


def iso(ms: int | None) -> str | None:
    """UTC time of an entry (milliseconds since 1970) in ISO 8601, to the second."""
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms // 1000, dt.UTC).isoformat().replace("+00:00", "Z")


def _total(value: Total) -> int | Json:
    return value if isinstance(value, int) else {"min": value.low, "max": value.high}


def _rate(value: float | RateRange | None) -> float | Json | None:
    if isinstance(value, RateRange):
        return {"min": value.low, "max": value.high}
    return value


def _day(epoch: int) -> str:
    """The UTC date an epoch (a day number since 1970-01-01) stands for."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=epoch)).isoformat()


def _ledgers(figures: Figures) -> Json:
    verified = [
        {
            "node": v.node,
            "label": v.label,
            "origin": v.origin,
            "size": v.size,
            "root": v.root_hex,
            "witnessed": v.witnessed,
            "quorum": v.quorum,
            "witnesses": list(v.witnesses),
            "cosigners": [
                {"name": name, "cosigned_at": iso(1000 * v.cosigned_at[name])}
                for name in v.cosigners
            ],
            "checkpoints_checked": v.checkpoints_checked,
        }
        for v in figures.verified
    ]
    excluded = [{"label": x.label, "reason": x.reason} for x in figures.excluded]
    return {"verified": verified, "excluded": excluded}


def _agreements(figures: Figures) -> Json:
    rows = [
        {
            "agreement_id": a.agreement_id,
            "version": a.version,
            "agreement_hash": a.agreement_hash,
            "parties": list(a.parties),
            "roles": dict(a.roles),
            "state": a.state.value,
            "in_force": a.in_force,
            "since": iso(a.since_ms),
            "valid_from": iso(a.valid_from_ms),
            "valid_until": iso(a.valid_until_ms),
            "revoked": iso(a.revoked_ms),
            "revoked_reason": a.revoked_reason,
            "logged_by": list(a.logged_by),
        }
        for a in figures.agreements
    ]
    states = Counter(a.state.value for a in figures.agreements)
    return {
        "as_of": iso(figures.last_ms),
        "rule": IN_FORCE_RULE,
        "in_force": states[Standing.IN_FORCE.value],
        "by_state": {s.value: states[s.value] for s in Standing},
        "agreements": rows,
        "documents": {
            "verified": figures.documents,
            "rejected": [
                {"file": r.path.name, "reason": r.reason} for r in figures.rejected_documents
            ],
        },
    }


def _queries(figures: Figures) -> Json:
    cells = {key: cell(n) for key, n in figures.queries.items()}
    by_agency: dict[str, list[Cell]] = {}
    by_purpose: dict[str, list[Cell]] = {}
    for (agency, purpose), c in cells.items():
        by_agency.setdefault(agency, []).append(c)
        by_purpose.setdefault(purpose, []).append(c)
    return {
        "by_agency_and_purpose": [
            {"requester": agency, "purpose": purpose, "queries": c}
            for (agency, purpose), c in cells.items()
        ],
        "by_agency": [
            {"requester": k, "queries": _total(total(v))} for k, v in sorted(by_agency.items())
        ],
        "by_purpose": [
            {"purpose": k, "queries": _total(total(v))} for k, v in sorted(by_purpose.items())
        ],
        "total": _total(total(cells.values())),
    }


def _hits(figures: Figures) -> Json:
    rows = []
    plates_cells: list[Cell] = []
    hits_cells: list[Cell] = []
    for agency, plates in figures.plates_answered.items():
        p, h = cell(plates), cell(figures.hits.get(agency, 0))
        plates_cells.append(p)
        hits_cells.append(h)
        rows.append(
            {
                "requester": agency,
                "plates": p,
                "hits": h,
                "hit_rate_percent": _rate(rate_percent(h, p)),
            }
        )
    plates_total, hits_total = total(plates_cells), total(hits_cells)
    return {
        "by_agency": rows,
        "total": {
            "plates": _total(plates_total),
            "hits": _total(hits_total),
            "hit_rate_percent": _rate(rate_percent(hits_total, plates_total)),
        },
    }


def _refusals(figures: Figures) -> Json:
    cells = {rules: cell(n) for rules, n in figures.refusals.items()}
    return {
        "by_rule": [{"rule_ids": list(r), "refusals": c} for r, c in cells.items()],
        "total": _total(total(cells.values())),
    }


def _retention(figures: Figures) -> Json:
    summary: dict[tuple[str, str], dict[str, int]] = {}
    for d in figures.deletions:
        s = summary.setdefault(
            (d.node, d.data_class), {"epochs": 0, "on_time": 0, "late": 0, "no_deadline": 0}
        )
        s["epochs"] += 1
        s[{True: "on_time", False: "late", None: "no_deadline"}[d.on_time]] += 1
    nodes_with_settings = {s.node for s in figures.settings}
    return {
        "grace_minutes": PURGE_GRACE_MS // 60_000,
        "settings": [
            {
                "node": s.node,
                "data_class": s.data_class,
                "max_age_seconds": s.max_age_ms // 1000,
                "jurisdiction": s.jurisdiction,
                "logged": iso(s.logged_ms),
            }
            for s in figures.settings
        ],
        "nodes_without_settings": sorted(
            v.node for v in figures.verified if v.node not in nodes_with_settings
        ),
        "summary": [
            {"node": node, "data_class": data_class, **counts}
            for (node, data_class), counts in sorted(summary.items())
        ],
        "deletions": [
            {
                "node": d.node,
                "data_class": d.data_class,
                "epoch": d.epoch,
                "epoch_day": _day(d.epoch) if d.data_class in DAY_CLASSES else None,
                "deleted": iso(d.deleted_ms),
                "deadline": iso(d.deadline_ms),
                "on_time": d.on_time,
                "no_deadline": d.no_deadline,
                "records": {k: cell(n) for k, n in sorted(d.counts.items())},
                "deleted_root": d.deleted_root,
            }
            for d in figures.deletions
        ],
    }


def publish_figures(figures: Figures) -> Json:
    """The whole published document (JSON-ready: str, int, float, bool, None, list, dict)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "period": {"from": iso(figures.first_ms), "to": iso(figures.last_ms)},
        "suppression": {"threshold": THRESHOLD, "marker": MARKER, "rule": SUPPRESSION_RULE},
        "ledgers": _ledgers(figures),
        "agreements": _agreements(figures),
        "queries": _queries(figures),
        "hits": _hits(figures),
        "refusals": _refusals(figures),
        "retention": _retention(figures),
    }


def bounds(value: int | str | Mapping[str, int]) -> tuple[int, int]:
    """The range a published JSON count or total stands for (for readers of the JSON)."""
    if isinstance(value, Mapping):
        return int(value["min"]), int(value["max"])
    if value == MARKER:
        return 1, THRESHOLD - 1
    if isinstance(value, int):
        return value, value
    raise ValueError(f"not a published count: {value!r}")


__all__ = ["FORMAT", "SUPPRESSION_RULE", "VERSION", "bounds", "iso", "publish_figures"]
