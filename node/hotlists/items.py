"""One hotlist entry as read from a file, checked field by field, before it is sealed.

Both file formats hand :func:`check_item` the same fields as strings, and get back a
:class:`HotlistItem` or a :class:`Refusal` whose reason names the field (and the column
or key it came from), never a value: a mis-mapped column could put a plate in any field.

What each field must be:

- **plate**: normalised (:func:`node.plates.normalise`), 1 to :data:`~node.plates.MAX_PLATE`
  letters or digits;
- **case number**: required, at most 64 printable characters (the limit of a query's);
- **reason**: required, at most :data:`MAX_REASON` printable characters;
- **category**: required; lower-cased, runs of spaces and underscores become ``-``, and
  the result must be a policy code (``stolen-vehicle``), the form agreements and legal
  profiles name categories in;
- **expires**: required. A date (``2025-12-31`` or ``20251231``) means the end of that
  UTC day; a time must be ISO 8601 with its offset (a time without one is refused, not
  guessed). An entry whose expiry is not after ``now`` is refused as expired;
- **state** (NCIC ``LIS``, the issuing state) and **ori** (NCIC ``ORI``): optional; a
  state is 1-16 letters, digits or ``-`` (``CA``, ``US-CA``), an ORI two letters and
  seven letters or digits.

:class:`Defaults` gives a category and a reason for a whole file, since an NCIC extract
is usually one file per NCIC file (stolen vehicles, wanted persons) and names neither.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from node.config import validate_ori
from node.ingest.errors import ImportFormatError
from node.plates import MAX_PLATE, normalise
from node.policy._fields import CODE_RE
from node.policy.case_number import MAX_CASE_NUMBER

#: Longest reason kept.
MAX_REASON = 500
#: The fields every entry MUST have, in the order a missing one is reported.
REQUIRED = ("plate", "case_number", "reason", "category", "expires")

_DAY = dt.timedelta(days=1)
_STATE_RE = re.compile(r"^[A-Z0-9-]{1,16}$")
_SPACES_RE = re.compile(r"[\s_]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class HotlistItem:
    """A checked entry with its plate in the clear, on its way to being sealed.

    ``plate`` is left out of ``repr`` so that a logged item shows no plate.
    """

    plate: str = field(repr=False)
    case_number: str
    reason: str
    category: str
    expires: dt.datetime
    state: str | None = None
    ori: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a record is not an entry: names fields and columns, never values."""

    reason: str


@dataclass(frozen=True, slots=True)
class Defaults:
    """Category and reason for records that give none (``None``: no default)."""

    category: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.category is not None and category_code(self.category) is None:
            raise ImportFormatError(
                f"default category {self.category!r} is not a code "
                "(lower-case letters, digits, . _ : -; 1-64)"
            )
        if self.reason is not None and _text_problem(self.reason.strip(), MAX_REASON):
            raise ImportFormatError(f"the default reason must be 1 to {MAX_REASON} characters")

    def for_field(self, name: str) -> str | None:
        """The default of field ``name``, if it has one."""
        found = {"category": self.category, "reason": self.reason}.get(name)
        return None if found is None else found.strip()


def category_code(text: str) -> str | None:
    """``Stolen Vehicle`` as ``stolen-vehicle``; ``None`` if it cannot be a policy code."""
    code = _SPACES_RE.sub("-", text.strip().lower())
    return code if CODE_RE.match(code) else None


def check_item(
    values: Mapping[str, str],
    *,
    source: Callable[[str], str],
    defaults: Defaults,
    now: dt.datetime,
) -> HotlistItem | Refusal:
    """An entry from ``values`` (field -> stripped text; absent or ``""`` means not given).

    ``source(field)`` names where a field came from, for reasons: ``column 'OCA'``, ``key
    case_number``. Defaults fill the category and reason where ``values`` has none.
    """
    given = {k: v for k, v in values.items() if v}
    for name in ("category", "reason"):
        default = defaults.for_field(name)
        if name not in given and default is not None:
            given[name] = default
    for name in REQUIRED:
        if name not in given:
            return Refusal(f"no {name.replace('_', ' ')} (in {source(name)})")
    try:
        return HotlistItem(
            plate=_plate(given["plate"], source),
            case_number=_text(given["case_number"], "case number", MAX_CASE_NUMBER, source),
            reason=_text(given["reason"], "reason", MAX_REASON, source),
            category=_category(given["category"], source),
            expires=_expires(given["expires"], source, now),
            state=_state(given.get("state"), source),
            ori=_ori(given.get("ori"), source),
        )
    except _RefusedError as e:
        return Refusal(str(e))


def parse_expiry(text: str) -> dt.datetime:
    """A date (the end of that UTC day) or an ISO 8601 time with an offset, in UTC.

    Raises ``ValueError`` saying what is wrong (never quoting ``text``).
    """
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        try:
            return dt.datetime.combine(day + _DAY, dt.time(), dt.UTC)
        except OverflowError:
            raise ValueError("is out of range") from None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("is not a date or an ISO 8601 time") from None
    if moment.utcoffset() is None:
        raise ValueError("is a time without a UTC offset; add Z or +hh:mm, or give a date")
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # within a day of year 1 or 9999
        raise ValueError("is out of range") from None


# -- fields -------------------------------------------------------------------------------


class _RefusedError(Exception):
    """A field is unusable; the message is the refusal's reason (it quotes no value)."""


def _plate(raw: str, source: Callable[[str], str]) -> str:
    plate = normalise(raw)
    if not plate:
        raise _RefusedError(f"the plate ({source('plate')}) has no letters or digits")
    if len(plate) > MAX_PLATE:
        raise _RefusedError(
            f"the plate ({source('plate')}) has more than {MAX_PLATE} letters or digits"
        )
    return plate


def _text_problem(value: str, max_len: int) -> str | None:
    if not value:
        return "is empty"
    if len(value) > max_len:
        return f"is longer than {max_len} characters"
    if not value.isprintable():
        return "has control characters"
    return None


def _text(value: str, what: str, max_len: int, source: Callable[[str], str]) -> str:
    problem = _text_problem(value, max_len)
    if problem is not None:
        name = what.replace(" ", "_")
        raise _RefusedError(f"the {what} ({source(name)}) {problem}")
    return value


def _category(value: str, source: Callable[[str], str]) -> str:
    code = category_code(value)
    if code is None:
        raise _RefusedError(
            f"the category ({source('category')}) is not a code "
            "(letters, digits, . _ : - and spaces; up to 64)"
        )
    return code


def _expires(value: str, source: Callable[[str], str], now: dt.datetime) -> dt.datetime:
    try:
        expires = parse_expiry(value)
    except ValueError as e:
        raise _RefusedError(f"the expiry ({source('expires')}) {e}") from None
    if expires <= now:
        raise _RefusedError(f"expired (the expiry in {source('expires')} has passed)")
    return expires


def _state(value: str | None, source: Callable[[str], str]) -> str | None:
    if not value:
        return None
    state = value.upper()
    if not _STATE_RE.match(state):
        raise _RefusedError(
            f"the state ({source('state')}) is not a state code (1-16 letters, digits or -)"
        )
    return state


def _ori(value: str | None, source: Callable[[str], str]) -> str | None:
    if not value:
        return None
    ori = value.upper()
    try:
        return validate_ori(ori)
    except ValueError:
        raise _RefusedError(
            f"the ORI ({source('ori')}) is not two letters and seven letters or digits"
        ) from None
