"""Retention deadlines: every epoch the ledger shows deleted in time.

An epoch is a UTC day of one data class. The ledger shows that an epoch existed when it
records a VOPRF key for it (``key.rotated``, scope ``<agreement>:<epoch>``: a ``reads``
epoch, whose purge destroys those keys) or its deletion (``retention.deleted``). Its
deadline is the end of the day plus the class's maximum age plus a grace for the hourly
purge. The maximum age is, in order:

1. what the node declared (``admin.action`` ``retention.set``, whose detail lists
   ``<class>=<days>`` or ``<class>=<seconds>s``; other units ``d``/``h``/``min`` are read
   too): the longest declared from the epoch's end until the node's last entry, so a
   setting shortened later never makes an earlier deletion late; then capped by
2. the state's cap (:mod:`accord.legal.retention_caps`) for the non-hit ALPR classes
   (``reads``, ``crops``, ``video``), for the node's jurisdiction: the one it declares,
   else the one its signed agreements name, else the profile's.

A class with neither is not judged, nor are held reads (their epoch is the hold's number
and they are kept until the hold ends). An epoch is late when its ``retention.deleted`` comes
after the deadline, or when none has come and the node's last entry (its own clock: an
export says nothing about later) is past the deadline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from accord.legal.retention_caps import cap_for
from audit.check.findings import EntryRef, Finding, finding
from audit.check.model import DAY_MS, Facts, Ledger, day_text

#: Classes a state's cap on non-hit ALPR data applies to.
CAPPED_CLASSES = frozenset({"reads", "crops", "video"})
#: Classes whose epoch is not a UTC day: a held read's epoch is its hold's number, and it
#: is kept until the hold ends, which the ledger records as the hold's own entries.
NOT_DAYS = frozenset({"held_reads"})
_SETTING = re.compile(r"\b([a-z_]+)\s*[=:]\s*(\d{1,9})\s*(s|d|h|min)?\b")
_JURISDICTION = re.compile(r"\bjurisdiction\s*=\s*([A-Z]{2}(?:-[A-Z0-9]{1,3})?)\b")
_UNIT_MS = {"s": 1000, "min": 60_000, "h": 3_600_000, "d": DAY_MS, None: DAY_MS}


@dataclass(frozen=True, slots=True)
class Declaration:
    """One ``retention.set``: when, where the node says it is, and its maximum ages."""

    index: int
    time_ms: int
    jurisdiction: str | None
    max_age_ms: Mapping[str, int]


def declarations(ledger: Ledger) -> list[Declaration]:
    out = []
    for index, entry in enumerate(ledger.entries):
        if entry.type != "admin.action" or entry.fields["action"] != "retention.set":
            continue
        detail = entry.fields["detail"]
        ages = {
            m.group(1): int(m.group(2)) * _UNIT_MS[m.group(3)]
            for m in _SETTING.finditer(detail)
            if m.group(1) != "jurisdiction"
        }
        where = _JURISDICTION.search(detail)
        out.append(Declaration(index, entry.time_ms, where.group(1) if where else None, ages))
    return out


def _epochs(ledger: Ledger) -> Iterator[tuple[str, int, EntryRef]]:
    """(class, epoch, the entry that shows it existed)."""
    for index, entry in enumerate(ledger.entries):
        if entry.type == "key.rotated":
            _, sep, epoch = entry.fields["scope"].rpartition(":")
            if sep and epoch.isdigit():
                yield "reads", int(epoch), EntryRef(ledger.node, index)
        elif entry.type == "retention.deleted" and entry.fields["data_class"] not in NOT_DAYS:
            yield entry.fields["data_class"], entry.fields["epoch"], EntryRef(ledger.node, index)


def _jurisdiction(facts: Facts, node: str, declared: list[Declaration]) -> str | None:
    for d in reversed(declared):
        if d.jurisdiction:
            return d.jurisdiction
    if node in facts.jurisdictions:
        return facts.jurisdictions[node]
    return facts.inp.profile.jurisdiction if facts.inp.profile else None


def _max_age(
    data_class: str, ends_ms: int, last_ms: int, declared: list[Declaration], cap_ms: int | None
) -> int | None:
    in_force = [d for d in declared if d.time_ms <= ends_ms]
    relevant = in_force[-1:] + [d for d in declared if ends_ms < d.time_ms <= last_ms]
    ages = [d.max_age_ms[data_class] for d in relevant if data_class in d.max_age_ms]
    longest = max(ages) if ages else None
    if cap_ms is None or data_class not in CAPPED_CLASSES:
        return longest
    return cap_ms if longest is None else min(longest, cap_ms)


def check_retention(facts: Facts) -> list[Finding]:
    """``retention.deadline_missed`` and ``retention.setting_above_cap``."""
    grace = facts.inp.thresholds.retention_grace_ms
    out: list[Finding] = []
    for ledger in facts.inp.ledgers:
        if not ledger.entries:
            continue
        declared = declarations(ledger)
        jurisdiction = _jurisdiction(facts, ledger.node, declared)
        cap = cap_for(jurisdiction) if jurisdiction else None
        cap_ms = None
        if cap is not None and cap.max_age is not None:
            cap_ms = int(cap.max_age.total_seconds() * 1000)
        out += _above_cap(ledger.node, declared, cap_ms, jurisdiction)
        last = facts.last_time[ledger.node]
        seen: dict[tuple[str, int], EntryRef] = {}
        deleted: dict[tuple[str, int], tuple[int, EntryRef]] = {}
        for data_class, epoch, ref in _epochs(ledger):
            seen.setdefault((data_class, epoch), ref)
            if ledger.entries[ref.index].type == "retention.deleted":
                deleted.setdefault((data_class, epoch), (ledger.entries[ref.index].time_ms, ref))
        for (data_class, epoch), first in sorted(seen.items()):
            ends = (epoch + 1) * DAY_MS
            age = _max_age(data_class, ends, last, declared, cap_ms)
            if age is None:
                continue
            deadline = ends + age + grace
            done = deleted.get((data_class, epoch))
            if done is not None and done[0] <= deadline:
                continue
            if done is None and last <= deadline:
                continue
            late = (done[0] if done else last) - deadline + grace
            when = "deleted" if done else "still not deleted at the ledger's last entry,"
            out.append(
                finding(
                    "retention.deadline_missed",
                    [ledger.node],
                    [first] + ([done[1]] if done else []),
                    f"{data_class} epoch {epoch} ({day_text(epoch)}) on {ledger.node} was "
                    f"{when} {late / DAY_MS:.1f} days after its maximum age of "
                    f"{age / DAY_MS:g} days ran out",
                )
            )
    return out


def _above_cap(
    node: str, declared: list[Declaration], cap_ms: int | None, jurisdiction: str | None
) -> list[Finding]:
    if cap_ms is None:
        return []
    out = []
    for d in declared:
        above = sorted(c for c, ms in d.max_age_ms.items() if c in CAPPED_CLASSES and ms > cap_ms)
        if above:
            out.append(
                finding(
                    "retention.setting_above_cap",
                    [node],
                    [EntryRef(node, d.index)],
                    f"{node} declared {', '.join(above)} above the {jurisdiction} cap "
                    f"of {cap_ms / DAY_MS:g} days",
                )
            )
    return out
