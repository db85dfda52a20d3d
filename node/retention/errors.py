"""Errors of retention, by who is at fault: the admin's setting or hold, or the node's own purge."""

from __future__ import annotations

import datetime as dt

from node.errors import NodeError


class RetentionError(NodeError):
    """Base class of retention errors."""


class RetentionSettingError(RetentionError, ValueError):
    """A retention setting the node refuses: unknown class, bad number, or over the state cap.

    A ``ValueError`` too, so configuration loading reports it like any invalid setting.
    """


class AboveStateCapError(RetentionSettingError):
    """A setting longer than the law of the node's state allows for that data class."""

    def __init__(
        self, data_class: str, wanted: dt.timedelta, cap: dt.timedelta, statute: str, citation: str
    ) -> None:
        super().__init__(
            f"retention of {data_class} for {_human(wanted)} exceeds the state cap of "
            f"{statute} ({citation})"
        )
        self.data_class = data_class
        self.wanted = wanted
        self.cap = cap
        self.citation = citation


class HoldError(RetentionError):
    """Base class of case hold errors."""


class InvalidHoldError(HoldError, ValueError):
    """A hold the node refuses as asked: no case number, approver or expiry, an expiry in
    the past or beyond the ``held_reads`` setting, or a selector that names nothing."""


class HoldNotFoundError(HoldError):
    """No hold with that number."""


class HoldStateError(HoldError):
    """The hold was already released (or expired): there is nothing left to release."""


class PurgeInterruptedError(RetentionError):
    """A purge stopped part-way (raised by test hooks; a real crash looks the same).

    Running the purge again finishes the job: see :mod:`node.retention.purge`.
    """


def _human(age: dt.timedelta) -> str:
    days = age / dt.timedelta(days=1)
    return f"{days:g} days" if days >= 1 else f"{age.total_seconds():g} seconds"
