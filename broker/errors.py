"""Errors of the broker, by who is at fault.

The operator's setup (:class:`BrokerSetupError`), the operator's command
(:class:`MemberError`), a caller on the wire (:class:`CallerError`), or a member's log
submitting something a witness must refuse (:class:`WitnessRefusedError`). Messages name
the file, setting or member so one line tells the operator what to fix.
"""

from __future__ import annotations

from pathlib import Path


class BrokerError(Exception):
    """Base class of the broker's own errors."""


class BrokerSetupError(BrokerError):
    """The broker home, its configuration or its keys are missing, corrupt or unsafe."""


class BrokerHomeExistsError(BrokerSetupError):
    """``accord broker init`` was pointed at a directory that already holds a broker."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already holds an Accord broker; refusing to overwrite it")
        self.path = path


class BrokerConfigError(BrokerSetupError):
    """``broker.toml`` is unreadable, malformed or has an invalid setting."""

    def __init__(self, path: Path, message: str, setting: str | None = None) -> None:
        where = f"{path}: {setting}" if setting else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.setting = setting


class BrokerListenError(BrokerSetupError):
    """The broker could not bind its address."""

    def __init__(self, address: str) -> None:
        super().__init__(f"cannot listen on {address}: address in use or invalid")
        self.address = address


class MemberError(BrokerError):
    """An operator's member command is invalid (unknown, duplicate, bad card)."""


class UnknownMemberError(MemberError):
    """No member has that name."""


class DuplicateMemberError(MemberError):
    """A member with that name or certificate is already listed."""


class CallerError(BrokerError):
    """A caller on the wire is not a current member, or asked for something invalid."""


class NotAMemberError(CallerError):
    """The client certificate is not one of the current directory's members."""


class WitnessRefusedError(BrokerError):
    """The broker's witness refused a checkpoint (unknown log, conflict, inconsistency)."""
