"""How long each class of data is kept: the admin's setting, capped by the state's law.

Settings live in ``accord.toml`` as an optional table of whole days per data class::

    [retention]
    reads = 14
    received_hits = 60

A class not listed keeps its default (:data:`DEFAULT_MAX_AGE`), shortened to the state's
cap when the cap is shorter. A class the admin *does* set above the cap is refused with
:class:`~node.retention.errors.AboveStateCapError`, naming the cap and its citation: a
silently shortened setting would let an admin believe the node keeps data longer than it
does, and a silently longer one would break the law.

Reads under a case hold (:attr:`DataClass.HELD_READS`) are not capped: every statute in
:mod:`node.policy.retention_caps` exempts data kept as evidence or for an ongoing
investigation, which is what a hold records. Every other class is capped.

Use::

    settings = RetentionSettings.from_days("US-ME", {"reads": 14})
    settings.max_age[DataClass.READS]  # 14 days
    settings.with_days(DataClass.READS, 30)  # AboveStateCapError: Maine caps at 21 days
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from node.config import CONFIG_FILE, load_config, write_config
from node.files import write_atomic
from node.policy.retention_caps import RetentionCap, cap_for, capped
from node.retention.errors import AboveStateCapError, RetentionSettingError
from node.store.epochs import DataClass

_DAY = dt.timedelta(days=1)
#: The longest any setting may be: a typo of 3650 for 365 is caught, ten years is not.
MAX_DAYS = 3650

#: Defaults, before the state cap. Why each:
DEFAULT_MAX_AGE: Mapping[DataClass, dt.timedelta] = {
    # 30 days: the common agency policy (IACP survey figures) and under every cap in the
    # table except Maine's 21 days and New Hampshire's minutes, which shorten it.
    DataClass.READS: 30 * _DAY,
    # One year: a hold is for a case; a year covers charging, after which a hold is renewed.
    DataClass.HELD_READS: 365 * _DAY,
    # Like the reads they belong to: a crop outliving its read would be orphaned evidence.
    DataClass.CROPS: 30 * _DAY,
    # A week: raw video shows far more than plates; reads are extracted within minutes.
    DataClass.VIDEO: 7 * _DAY,
    # Zero: a hotlist epoch is the day its entries expire, so it ends when all have expired.
    DataClass.HOTLISTS: dt.timedelta(0),
    # One year: who searched for what is the record oversight bodies audit, yearly.
    DataClass.QUERY_RECORDS: 365 * _DAY,
    # 90 days: a peer's hit is a lead; longer use needs a case hold at the requester.
    DataClass.RECEIVED_HITS: 90 * _DAY,
}

#: Classes the state cap does not apply to (see the module docstring).
UNCAPPED: frozenset[DataClass] = frozenset({DataClass.HELD_READS})


@dataclass(frozen=True, slots=True)
class ClassRetention:
    """One row of ``accord node retention show``."""

    data_class: DataClass
    max_age: dt.timedelta
    set_by_admin: bool
    cap: RetentionCap | None  # None: the state has no known cap, or it does not apply


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """Validated maximum ages of every data class for one jurisdiction."""

    jurisdiction: str
    days: Mapping[DataClass, int]  # what the admin set, in days
    max_age: Mapping[DataClass, dt.timedelta]  # what the purge applies, for every class

    @classmethod
    def from_days(cls, jurisdiction: str, days: Mapping[str, object]) -> RetentionSettings:
        """Validate ``[retention]`` as read from ``accord.toml``.

        Raises :class:`RetentionSettingError` (unknown class, not a whole number of days)
        or :class:`AboveStateCapError`.
        """
        chosen: dict[DataClass, int] = {}
        for name, value in days.items():
            try:
                data_class = DataClass(name)
            except ValueError as e:
                known = ", ".join(c.value for c in DataClass)
                raise RetentionSettingError(f"unknown data class {name!r} (known: {known})") from e
            if not isinstance(value, int) or isinstance(value, bool):
                raise RetentionSettingError(f"retention of {name} must be a whole number of days")
            if not 0 <= value <= MAX_DAYS:
                raise RetentionSettingError(
                    f"retention of {name} must be 0..{MAX_DAYS} days, not {value}"
                )
            _check_cap(jurisdiction, data_class, value * _DAY)
            chosen[data_class] = value
        max_age = {
            c: chosen[c] * _DAY if c in chosen else _default(jurisdiction, c) for c in DataClass
        }
        return cls(jurisdiction, dict(chosen), max_age)

    def with_days(self, data_class: DataClass, days: int) -> RetentionSettings:
        """These settings with ``data_class`` set to ``days``, validated the same way."""
        merged: dict[str, object] = {c.value: d for c, d in self.days.items()}
        merged[data_class.value] = days
        return RetentionSettings.from_days(self.jurisdiction, merged)

    def rows(self) -> list[ClassRetention]:
        """Every class with its setting and the cap that bounds it."""
        return [
            ClassRetention(
                c, self.max_age[c], c in self.days, _applicable_cap(self.jurisdiction, c)
            )
            for c in DataClass
        ]

    def as_toml_table(self) -> dict[str, int]:
        """The ``[retention]`` table: only what the admin set (defaults stay defaults)."""
        return {c.value: d for c, d in sorted(self.days.items())}


def _applicable_cap(jurisdiction: str, data_class: DataClass) -> RetentionCap | None:
    cap = cap_for(jurisdiction)
    if data_class in UNCAPPED or cap is None or cap.max_age is None:
        return None
    return cap


def _check_cap(jurisdiction: str, data_class: DataClass, wanted: dt.timedelta) -> None:
    cap = _applicable_cap(jurisdiction, data_class)
    if cap is not None and cap.max_age is not None and wanted > cap.max_age:
        raise AboveStateCapError(
            data_class.value, wanted, cap.max_age, cap.statute_says, cap.citation
        )


def _default(jurisdiction: str, data_class: DataClass) -> dt.timedelta:
    wanted = DEFAULT_MAX_AGE[data_class]
    return wanted if data_class in UNCAPPED else capped(jurisdiction, wanted)


def load_settings(home: Path) -> RetentionSettings:
    """The retention settings of the node at ``home`` (validated by :func:`load_config`)."""
    config = load_config(home)
    return RetentionSettings.from_days(str(config.jurisdiction), config.retention_days)


def save_settings(home: Path, settings: RetentionSettings) -> None:
    """Write ``settings`` into ``home/accord.toml`` atomically.

    The new file is written beside the old one, flushed to disk and renamed over it, so a
    crash leaves either the old or the new configuration, never half of one. The rest of
    the file is rewritten from the loaded configuration, as ``accord node init`` wrote it.
    """
    config = load_config(home)
    if str(config.jurisdiction) != settings.jurisdiction:
        raise RetentionSettingError(
            f"settings are for {settings.jurisdiction}, the node is in {config.jurisdiction}"
        )
    data = write_config(dataclasses.replace(config, retention_days=settings.as_toml_table()))
    write_atomic(home / CONFIG_FILE, data)
