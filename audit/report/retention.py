"""Retention as the ledgers prove it: the settings a node logged, and whether each
``retention.deleted`` came by its deadline.

Settings come from ``admin.action`` entries whose action starts with ``retention.``: the
node declares ``retention.set jurisdiction=US-ME reads=14 held_reads=365 crops=21 ...``
whenever the settings it applies change (a bare number is days; ``180s`` is seconds;
``d``, ``h`` and ``min`` are read too). A ledger without such entries has no recorded
settings, and its deletions get no deadline: the report says so rather than guessing the
node's configuration.

For the day classes an epoch is a UTC day (``epoch`` days after 1970-01-01), purged once it
ended ``max_age`` ago on an hourly schedule, so its *deadline* is ``end of day + max_age``
(plus the hour the replay window needs, for query records) and the deletion is *on time* if
it was logged within :data:`PURGE_GRACE_MS` (one purge interval) after the deadline. The
setting used is the latest one the node logged at or before the deletion. For received
hits an agreement may ask for less; the class's setting is the bound every deletion must
meet. A ``held_reads`` epoch is a case hold, deleted when the hold ends, not a day: it gets
no deadline here.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from crypto.entries import Entry

DAY_MS: Final = 86_400_000
#: The node purges every hour: a deletion up to one interval after the deadline is on time.
PURGE_GRACE_MS: Final = 3_600_000

#: Classes whose epochs are UTC days, with any wait beyond ``max_age`` the node adds.
DAY_CLASSES: Final = {
    "reads": 0,
    "crops": 0,
    "hotlists": 0,
    "video": 0,
    "received_hits": 0,
    "query_records": 3_600_000,
}
NO_SETTING: Final = "no retention setting on the ledger"
HOLD_EPOCH: Final = "kept for a case hold; deleted when the hold ends"

DATA_CLASSES: Final = (
    "reads",
    "held_reads",
    "crops",
    "video",
    "hotlists",
    "query_records",
    "received_hits",
)
_UNIT_MS: Final = {
    "d": DAY_MS,
    "day": DAY_MS,
    "days": DAY_MS,
    "h": 3_600_000,
    "hour": 3_600_000,
    "hours": 3_600_000,
    "min": 60_000,
    "minute": 60_000,
    "minutes": 60_000,
    "s": 1_000,
    "second": 1_000,
    "seconds": 1_000,
}
_JURISDICTION = re.compile(r"(?<![a-z_])jurisdiction\s*[=:]\s*([A-Z]{2}(?:-[A-Z0-9]{1,3})?)\b")
_SETTING = re.compile(
    r"(?<![a-z_])(" + "|".join(DATA_CLASSES) + r")\s*(?:=|:|->)?\s*([0-9]{1,6})\s*"
    r"(days|day|d|hours|hour|h|minutes|minute|min|seconds|second|s)?(?![a-z])"
)


@dataclass(frozen=True, slots=True)
class Setting:
    """One data class's maximum age as a node logged it."""

    node: str
    data_class: str
    max_age_ms: int
    logged_ms: int
    action: str
    jurisdiction: str | None


@dataclass(frozen=True, slots=True)
class Deletion:
    """One ``retention.deleted`` with its deadline (``None``: no setting on the ledger)."""

    node: str
    data_class: str
    epoch: int
    deleted_ms: int
    counts: Mapping[str, int]
    deleted_root: str
    deadline_ms: int | None
    max_age_ms: int | None
    #: Why there is no deadline (``None`` when there is one).
    no_deadline: str | None

    @property
    def on_time(self) -> bool | None:
        if self.deadline_ms is None:
            return None
        return self.deleted_ms <= self.deadline_ms + PURGE_GRACE_MS


def parse_settings(node: str, entry: Entry) -> list[Setting]:
    """The settings one ``admin.action`` records (none if it is not about retention)."""
    action = entry.fields.get("action", "")
    if entry.type != "admin.action" or not str(action).startswith("retention."):
        return []
    detail = str(entry.fields.get("detail", ""))
    where = _JURISDICTION.search(detail)
    jurisdiction = where.group(1) if where else None
    return [
        Setting(
            node,
            data_class,
            int(number) * _UNIT_MS[unit or "d"],
            entry.time_ms,
            action,
            jurisdiction,
        )
        for data_class, number, unit in _SETTING.findall(detail)
    ]


class SettingsHistory:
    """Each node's settings over time, to find the one in force at a given moment."""

    def __init__(self, settings: Sequence[Setting]) -> None:
        self._by_key: dict[tuple[str, str], list[Setting]] = {}
        for s in sorted(settings, key=lambda s: s.logged_ms):
            self._by_key.setdefault((s.node, s.data_class), []).append(s)

    def in_force(self, node: str, data_class: str, at_ms: int) -> Setting | None:
        history = self._by_key.get((node, data_class), [])
        i = bisect.bisect_right([s.logged_ms for s in history], at_ms)
        return history[i - 1] if i else None

    def latest(self) -> list[Setting]:
        """The latest setting of every (node, class) that has one, sorted."""
        return [self._by_key[k][-1] for k in sorted(self._by_key)]


def deletion(node: str, entry: Entry, settings: SettingsHistory) -> Deletion:
    """A ``retention.deleted`` entry with the deadline the node's own settings imply."""
    data_class = str(entry.fields["data_class"])
    epoch = int(entry.fields["epoch"])
    setting = settings.in_force(node, data_class, entry.time_ms)
    max_age = setting.max_age_ms if setting is not None else None
    deadline: int | None = None
    why: str | None = None
    if data_class not in DAY_CLASSES:
        why = HOLD_EPOCH if data_class == "held_reads" else f"{data_class}: not a day epoch"
    elif max_age is None:
        why = NO_SETTING
    else:
        deadline = (epoch + 1) * DAY_MS + max_age + DAY_CLASSES[data_class]
    return Deletion(
        node=node,
        data_class=data_class,
        epoch=epoch,
        deleted_ms=entry.time_ms,
        counts=dict(entry.fields["counts"]),
        deleted_root=str(entry.fields["deleted_root"]),
        deadline_ms=deadline,
        max_age_ms=max_age,
        no_deadline=why,
    )
