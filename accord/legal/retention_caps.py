"""Statutory caps on how long ALPR reads that matched nothing may be kept, by state.

A node's retention settings (``node/retention``) are capped by the law of the state the
node's agency sits in. The caps here apply to non-hit data: reads kept as evidence of a
crime, under a case hold or an investigation, follow the statute's exceptions instead.

Every cap carries its citation and how it was checked (:class:`Verification`): this is a
table for engineers, not legal advice, and an agency's counsel has the last word. Caps
stated in months are converted at 30 days a month, never longer than the law allows.
A state missing from the table has no cap known here: :func:`cap_for` returns ``None`` and
the agency's own policy applies, as it does in California.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Verification(enum.StrEnum):
    """How a cap's figure and citation were checked."""

    STATUTE_TEXT = "statute-text"  # read in a copy of the statute's text
    SECONDARY = "secondary"  # from a legislative summary (NCSL, bill digests, press)
    UNVERIFIED = "unverified"  # from memory: check before relying on it


@dataclass(frozen=True, slots=True)
class RetentionCap:
    """The longest a state lets its agencies keep non-hit ALPR data."""

    jurisdiction: str
    max_age: dt.timedelta | None  # None: no statutory cap; the agency sets its own
    statute_says: str
    citation: str
    verification: Verification
    note: str = ""


_MINUTE = dt.timedelta(minutes=1)
_DAY = dt.timedelta(days=1)

RETENTION_CAPS: Mapping[str, RetentionCap] = {
    cap.jurisdiction: cap
    for cap in (
        RetentionCap(
            "US-NH",
            3 * _MINUTE,
            "3 minutes",
            "N.H. Rev. Stat. Ann. 261:75-b",
            Verification.SECONDARY,
            "purged within 3 minutes unless the read leads to an arrest, citation or "
            "protective custody, or identifies a vehicle sought; figure from press reports "
            "of the legislation, subdivision not checked",
        ),
        RetentionCap(
            "US-ME",
            21 * _DAY,
            "21 days",
            "Me. Rev. Stat. tit. 29-A, 2117-A",
            Verification.SECONDARY,
            "unless the data are evidence of a crime; figure from NCSL's summary",
        ),
        RetentionCap(
            "US-MN",
            60 * _DAY,
            "60 days",
            "Minn. Stat. 13.824, subd. 3",
            Verification.UNVERIFIED,
            "unless the data are active criminal investigative data",
        ),
        RetentionCap(
            "US-VT",
            540 * _DAY,
            "18 months",
            "23 V.S.A. 1607(c)(2)",
            Verification.STATUTE_TEXT,
            "historical data on the statewide server; a court may extend it by 90 days "
            "at a time (23 V.S.A. 1608); 18 months counted as 540 days",
        ),
        RetentionCap(
            "US-AR",
            150 * _DAY,
            "150 days",
            "Ark. Code Ann. 12-12-1804(a)(2)",
            Verification.STATUTE_TEXT,
            "60 days for private landowners and businesses (12-12-1804(a)(1)); longer as "
            "part of an ongoing investigation (12-12-1804(b))",
        ),
        RetentionCap(
            "US-TN",
            90 * _DAY,
            "90 days",
            "Tenn. Code Ann. 55-10-302(b)",
            Verification.STATUTE_TEXT,
            "governmental entities; longer as part of an ongoing investigation",
        ),
        RetentionCap(
            "US-CA",
            None,
            "set by the agency",
            "Cal. Civ. Code 1798.90.51",
            Verification.SECONDARY,
            "the agency's usage and privacy policy states the retention period; the "
            "Highway Patrol alone is capped at 60 days (Cal. Veh. Code 2413)",
        ),
    )
}


def cap_for(jurisdiction: str) -> RetentionCap | None:
    """The cap for an ISO 3166-2 jurisdiction such as ``US-ME``, if one is known."""
    return RETENTION_CAPS.get(jurisdiction)


def capped(jurisdiction: str, wanted: dt.timedelta) -> dt.timedelta:
    """``wanted``, or the state's cap if that is shorter."""
    if wanted < dt.timedelta(0):
        raise ValueError("a retention period cannot be negative")
    cap = cap_for(jurisdiction)
    if cap is None or cap.max_age is None:
        return wanted
    return min(wanted, cap.max_age)
