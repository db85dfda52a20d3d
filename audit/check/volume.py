"""Volume anomalies: a user, or an agency, asking far more than usual on one day.

Each exchange is counted once, on the UTC day of its first record, for its requester
(the agency) and for the requester's user (``actor``, a keyed pseudonym: the same officer
always has the same one at one agency). A subject's *usual* count is the median of its
daily counts over every day the audited ledgers span, days without a query counting zero,
so that a newcomer's first busy day is measured against the same quiet calendar as
everyone else's. A day is anomalous when its count exceeds::

    max(volume_factor x usual, floor)       # factor 5; floor 20 for a user, 40 for an agency

The floor keeps a quiet subject's ordinary busy day (a median of zero or one) from being
reported. It is a signal for a person to look at, not a violation.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from audit.check.findings import EntryRef, Finding, finding
from audit.check.model import Facts, day_of, day_text


def _anomalies(
    code: str,
    label: str,
    counts: dict[tuple[str, ...], dict[int, list[EntryRef]]],
    days: range,
    factor: int,
    floor: int,
) -> list[Finding]:
    out: list[Finding] = []
    for subject, by_day in sorted(counts.items()):
        daily = [len(by_day.get(d, ())) for d in days]
        usual = statistics.median(daily)
        threshold = max(factor * usual, floor)
        for day, refs in sorted(by_day.items()):
            if len(refs) > threshold:
                out.append(
                    finding(
                        code,
                        [subject[0]],
                        refs,
                        f"{label.format(*subject)} "
                        f"made {len(refs)} queries on {day_text(day)}; usual (median over "
                        f"{len(days)} days) {usual:g}, threshold {threshold:g}",
                    )
                )
    return out


def check_volume(facts: Facts) -> list[Finding]:
    """``volume.actor_above_usual`` and ``volume.agency_above_usual``."""
    if not facts.exchanges:
        return []
    t = facts.inp.thresholds
    actors: dict[tuple[str, ...], dict[int, list[EntryRef]]] = defaultdict(dict)
    agencies: dict[tuple[str, ...], dict[int, list[EntryRef]]] = defaultdict(dict)
    first_day = last_day = None
    for x in facts.exchanges:
        q = x.sent or x.received
        if q is None:
            continue
        day = day_of(q.time_ms)
        first_day = day if first_day is None else min(first_day, day)
        last_day = day if last_day is None else max(last_day, day)
        actor = q.get("actor")
        assert isinstance(actor, str)
        actors[(x.requester, actor)].setdefault(day, []).append(q.ref)
        agencies[(x.requester,)].setdefault(day, []).append(q.ref)
    if first_day is None or last_day is None:
        return []
    days = range(first_day, last_day + 1)
    return _anomalies(
        "volume.actor_above_usual",
        "user {1:.12} of {0}",
        actors,
        days,
        t.volume_factor,
        t.actor_floor,
    ) + _anomalies(
        "volume.agency_above_usual", "{0}", agencies, days, t.volume_factor, t.agency_floor
    )
