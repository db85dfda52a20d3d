"""Strict reading of JSON objects into policy documents.

Every document in this package is parsed the same way: each field is read exactly once
with its JSON type checked (an ``int`` is never a ``bool``, a set is a list without
duplicates), a missing field is an error naming it, and :meth:`Fields.finish` refuses any
field nobody read. Value checks (ranges, patterns) belong to the dataclasses themselves, so
that objects built in code are checked too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import TypeVar

from node.policy.errors import _FieldError

E = TypeVar("E", bound=_FieldError)

_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Codes for purposes and hotlist categories: lower case, digits and . _ : -
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,63}$")
MAX_SET_SIZE = 256
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LAST = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


class Fields:
    """One JSON object being read. ``error`` is the exception class raised on any fault."""

    def __init__(self, obj: object, error: type[_FieldError], path: str = "") -> None:
        self._error = error
        self._path = path
        if not isinstance(obj, Mapping):
            raise error("must be a JSON object", path or None)
        for key in obj:
            if not isinstance(key, str):
                raise error("field names must be strings", path or None)
        self._obj: Mapping[str, object] = obj
        self._read: set[str] = set()

    @property
    def path(self) -> str:
        """The dotted path of this object in the document ("" at the top)."""
        return self._path

    def _field(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def fail(self, key: str, detail: str) -> _FieldError:
        """An error about field ``key`` of this object, for the caller to raise."""
        return self._error(detail, self._field(key))

    def _get(self, key: str) -> object:
        self._read.add(key)
        if key not in self._obj:
            raise self.fail(key, "missing")
        return self._obj[key]

    def value(self, key: str) -> object:
        """A field of any JSON type, for a nested parser to read."""
        return self._get(key)

    def array(self, key: str, *, max_items: int) -> list[object]:
        value = self._get(key)
        if not isinstance(value, list):
            raise self.fail(key, "must be an array")
        if len(value) > max_items:
            raise self.fail(key, f"must have at most {max_items} entries")
        return value

    def string(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self.fail(key, "must be a string")
        return value

    def optional_string(self, key: str) -> str | None:
        """A field that MUST be present and is a string or ``null``."""
        value = self._get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, "must be a string or null")
        return value

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "must be an integer")
        return value

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def string_set(self, key: str) -> frozenset[str]:
        """A JSON array of distinct strings, read as a set."""
        value = self._get(key)
        if not isinstance(value, list):
            raise self.fail(key, "must be an array of strings")
        if len(value) > MAX_SET_SIZE:
            raise self.fail(key, f"must have at most {MAX_SET_SIZE} entries")
        if not all(isinstance(item, str) for item in value):
            raise self.fail(key, "must be an array of strings")
        items = frozenset(value)
        if len(items) != len(value):
            raise self.fail(key, "must not repeat an entry")
        return items

    def time(self, key: str) -> dt.datetime:
        """An RFC 3339 UTC time to the second, written ``YYYY-MM-DDTHH:MM:SSZ``."""
        text = self.string(key)
        try:
            return parse_time(text)
        except ValueError as e:
            raise self.fail(key, str(e)) from None

    def object(self, key: str) -> Fields:
        return Fields(self._get(key), self._error, self._field(key))

    def finish(self) -> None:
        """Refuse any field that was not read."""
        unknown = sorted(set(self._obj) - self._read)
        if unknown:
            raise self._error(f"unknown field(s) {', '.join(unknown)}", self._path or None)


@contextlib.contextmanager
def prefixed(prefix: str) -> Iterator[None]:
    """Report errors of a nested object's constructor under ``prefix`` (a field path)."""
    try:
        yield
    except _FieldError as e:
        if not prefix:
            raise
        raise e.under(prefix) from None


def parse_time(text: str) -> dt.datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ`` into an aware UTC datetime."""
    if not _TIME_RE.match(text):
        raise ValueError("must be a UTC time like 2025-01-31T00:00:00Z")
    try:
        return dt.datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        raise ValueError("must be a UTC time like 2025-01-31T00:00:00Z") from None


def format_time(when: dt.datetime) -> str:
    """The inverse of :func:`parse_time`; ``when`` must be aware and whole seconds."""
    return when.astimezone(dt.UTC).strftime(_TIME_FORMAT)


def check_time(when: object, field: str, error: type[E]) -> None:
    """Times in documents are aware and whole seconds, so they survive a round trip."""
    if not isinstance(when, dt.datetime) or when.tzinfo is None:
        raise error("must be an aware datetime", field)
    if when.microsecond:
        raise error("must be a whole number of seconds", field)
    if not _EPOCH <= when <= _LAST:
        raise error("is out of range", field)


def require_aware(now: dt.datetime) -> None:
    """Clocks passed in as ``now`` MUST be timezone-aware."""
    if not isinstance(now, dt.datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def check_text(value: object, field: str, error: type[E], *, max_len: int) -> None:
    """A human-readable line: 1 to ``max_len`` characters, no control characters."""
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise error(f"must be 1 to {max_len} characters", field)
    if not value.isprintable():
        raise error("must not contain control characters", field)


def check_codes(values: object, field: str, error: type[E], *, allow_empty: bool) -> None:
    """A frozenset of purpose or category codes (see :data:`CODE_RE`)."""
    if not isinstance(values, frozenset):
        raise error("must be a frozenset", field)
    if not values and not allow_empty:
        raise error("must not be empty", field)
    if len(values) > MAX_SET_SIZE:
        raise error(f"must have at most {MAX_SET_SIZE} entries", field)
    for code in values:
        if not isinstance(code, str) or not CODE_RE.match(code):
            raise error(
                f"{code!r} is not a code (lower-case letters, digits, . _ : -; 1-64)", field
            )


def check_int(value: object, field: str, error: type[E], *, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise error(f"must be an integer from {lo} to {hi}", field)
