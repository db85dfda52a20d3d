"""Read imports from CSV files, through a map from Accord's fields to the file's columns.

Every records system exports reads with its own header (``Plate``, ``LPN``, ``Read Time``,
``Cam``), so the columns are named by a :class:`ColumnMap`, given on the command line as
``plate=Plate,time=Read Time,camera=Cam``. Without one, columns named ``plate``, ``time``,
``camera``, ``confidence``, ``id`` and ``candidates`` are used where the header has them
(any letter case); only ``plate`` and ``time`` must be there.

How cells are read:

- **time**: ISO 8601 (``2025-03-01T08:15:00Z``, or with an offset) by default; ``epoch``
  seconds, ``epoch_ms`` milliseconds or a :func:`~datetime.datetime.strptime` pattern by
  choice. A time without an offset is local time of the ``timezone`` given for the file
  (an IANA name); without one such a row is skipped rather than guessed. A local time
  that a daylight-saving change skipped is refused; one that occurs twice is taken as the
  first. Reads are stored in UTC.
- **confidence**: 0..1 as is, above 1 up to 100 as a percentage. An empty cell or an
  unmapped column means the source gave none: many systems export only the reading they
  chose, so it is stored as 1.0, the candidate the source stood by.
- **candidates**: the source's alternative readings, separated by ``|``. They carry no
  confidence of their own in this format and get the row's, ranked after the plate.
- **camera**: the cell, else the ``camera`` given for the file, else the row is skipped.
- **id**: the source's record id, so that importing the same file twice stores nothing new.

Contract: :func:`parse_csv_reads` MUST raise :class:`~node.ingest.errors.ImportFormatError`
when it is called, before any value is produced, if the file as a whole cannot be read (not
CSV, no header, a mapped column missing, an unknown time zone or time format). A bad row
is a :class:`~node.ingest.observed.Skip` naming its line and column; a reason MUST NOT
contain any cell's value, since that could be a plate.

Use::

    columns = ColumnMap.parse("plate=LPN,time=Read Time,camera=Cam")
    for item in parse_csv_reads(text, columns=columns, timezone="America/Los_Angeles"):
        ...
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.alpr.reads import Candidate
from node.ids import CameraId
from node.ingest.csv_table import (
    Layout,
    find_layout,
    is_blank,
    mapped_fields,
    parse_column_spec,
    read_rows,
)
from node.ingest.errors import ImportFormatError
from node.ingest.observed import MAX_EXTERNAL_ID, ObservedRead, Skip
from node.plates import normalise

#: The ``source`` of every read this module makes.
SOURCE = "csv"
#: Separates the alternative readings in a candidates cell.
ALTERNATIVE_SEPARATOR = "|"
#: The named ``time_format`` values; anything else must be a strptime pattern.
TIME_FORMATS = ("iso", "epoch", "epoch_ms")

_REQUIRED = ("plate", "time")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class _RefusedError(Exception):
    """A row cannot become a read; the message is the skip's reason (it names no value)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnMap:
    """Which column of the file holds each field of a read (``None``: not in the file)."""

    plate: str
    time: str
    camera: str | None = None
    confidence: str | None = None
    id: str | None = None
    candidates: str | None = None

    @classmethod
    def parse(cls, spec: str) -> ColumnMap:
        """A map from ``key=Column`` items separated by commas, e.g. ``plate=LPN,time=At``.

        Keys are the field names of this class, in any case. Column names are taken as written, less
        the spaces around them; they cannot contain ``,`` or start with ``=``.

        Raises:
            ImportFormatError: an item is not ``key=column``, a key is unknown or given
                twice, or ``plate`` or ``time`` is missing.
        """
        known = [f.name for f in fields(cls)]
        return cls(**parse_column_spec(spec, known, _REQUIRED))


#: The map used when none is given (its optional columns may be absent from the file).
DEFAULT_COLUMNS = ColumnMap(
    plate="plate",
    time="time",
    camera="camera",
    confidence="confidence",
    id="id",
    candidates="candidates",
)


def parse_csv_reads(
    text: str,
    *,
    columns: ColumnMap | None = None,
    camera: CameraId | None = None,
    time_format: str = "iso",
    timezone: str | None = None,
) -> Iterator[ObservedRead | Skip]:
    """The reads of the CSV ``text``, one per data row, or a skip saying why not.

    ``columns`` ``None`` means :data:`DEFAULT_COLUMNS`, matched by name in any case, with
    its optional columns used only where present; a map given explicitly must be found
    whole in the header. A skip's ``where`` is ``row N``, N being the row's first line in
    the file (the header is line 1).

    Raises:
        ImportFormatError: at once, if the file, the map, ``time_format`` or ``timezone``
            cannot be used.
    """
    clock = _Clock(_time_format(time_format), _zone(timezone))
    rows = read_rows(text)
    wanted = mapped_fields(DEFAULT_COLUMNS if columns is None else columns)
    # A map given must be found whole; the default need not.
    layout = find_layout(rows[0][1], wanted, _REQUIRED, whole=columns is not None)
    return _reads(rows[1:], layout, clock, camera)


def _reads(
    rows: Iterable[tuple[int, list[str]]],
    layout: Layout,
    clock: _Clock,
    camera: CameraId | None,
) -> Iterator[ObservedRead | Skip]:
    for line, row in rows:
        if is_blank(row):
            continue
        try:
            yield _read(row, layout, clock, camera)
        except _RefusedError as e:
            yield Skip(f"row {line}", str(e))


# -- time ---------------------------------------------------------------------------------


def _time_format(time_format: str) -> str:
    if time_format not in TIME_FORMATS and "%" not in time_format:
        raise ImportFormatError(
            f"unknown time format {time_format!r}; use {', '.join(TIME_FORMATS)} "
            "or a strptime pattern such as %m/%d/%Y %H:%M:%S"
        )
    return time_format


def _zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ImportFormatError(
            f"unknown time zone {name!r}; give an IANA name such as America/Los_Angeles"
        ) from e


@dataclass(frozen=True, slots=True)
class _Clock:
    """Reads a time cell in the file's format, and places local times in its zone."""

    time_format: str
    zone: ZoneInfo | None

    def utc(self, value: str, column: str) -> dt.datetime:
        if not value:
            _refuse(f"time column {column!r} is empty")
        try:
            moment = self._parse(value)
        except (ValueError, OverflowError):
            _refuse(f"time column {column!r} is not a time in the {self._expected} format")
        try:
            if moment.utcoffset() is None:
                moment = self._localise(moment, column)
            return moment.astimezone(dt.UTC)
        except OverflowError:  # within a day of year 1 or 9999: no UTC datetime for it
            _refuse(f"time column {column!r} is out of range")

    @property
    def _expected(self) -> str:
        return "ISO 8601" if self.time_format == "iso" else repr(self.time_format)

    def _parse(self, value: str) -> dt.datetime:
        if self.time_format == "iso":
            return dt.datetime.fromisoformat(value)
        if self.time_format in ("epoch", "epoch_ms"):
            number = float(value)
            if not math.isfinite(number) or number < 0:
                raise ValueError("not a time since 1970")
            scale = 1000.0 if self.time_format == "epoch_ms" else 1.0
            return _EPOCH + dt.timedelta(seconds=number / scale)
        # A pattern without %z gives a local time, which _localise places in the zone.
        return dt.datetime.strptime(value, self.time_format)

    def _localise(self, naive: dt.datetime, column: str) -> dt.datetime:
        if self.zone is None:
            _refuse(
                f"time column {column!r} has no UTC offset; pass --timezone with the "
                "zone the file's times are in"
            )
        local = naive.replace(tzinfo=self.zone)
        if local.astimezone(dt.UTC).astimezone(self.zone).replace(tzinfo=None) != naive:
            _refuse(
                f"time column {column!r} names a local time that does not exist in "
                f"{self.zone.key} (a daylight-saving change skipped it)"
            )
        return local


# -- one row ------------------------------------------------------------------------------


def _read(row: list[str], layout: Layout, clock: _Clock, default: CameraId | None) -> ObservedRead:
    _check_width(row, layout)
    return ObservedRead(
        camera_id=_camera(row, layout, default),
        time=clock.utc(layout.cell(row, "time"), layout.name("time")),
        candidates=_candidates(row, layout),
        source=SOURCE,
        external_id=_external_id(row, layout),
    )


def _check_width(row: list[str], layout: Layout) -> None:
    problem = layout.width_problem(row)
    if problem is not None:
        _refuse(problem)


def _camera(row: list[str], layout: Layout, default: CameraId | None) -> CameraId:
    value = layout.cell(row, "camera")
    if value:
        return CameraId(value)
    if default is not None:
        return default
    if "camera" in layout.index:
        _refuse(f"camera column {layout.name('camera')!r} is empty and no camera is set")
    _refuse("no camera column is mapped and no camera is set for the file")


def _candidates(row: list[str], layout: Layout) -> tuple[Candidate, ...]:
    raw, column = layout.cell(row, "plate"), layout.name("plate")
    if not raw:
        _refuse(f"plate column {column!r} is empty")
    confidence = _confidence(layout.cell(row, "confidence"), layout.name("confidence"))
    best = Candidate(text=normalise(raw), raw=raw, confidence=confidence)
    if not best.text:
        _refuse(f"plate column {column!r} has no letters or digits")
    unique = {best.text: best}
    alternatives = layout.cell(row, "candidates").split(ALTERNATIVE_SEPARATOR)
    for alternative in (a.strip() for a in alternatives):
        text = normalise(alternative)
        if text and text not in unique:
            unique[text] = Candidate(text=text, raw=alternative, confidence=confidence)
    return tuple(unique.values())


def _confidence(value: str, column: str) -> float:
    """0..1 as is, (1, 100] as a percentage; empty means none given, stored as 1.0."""
    if not value:
        return 1.0
    try:
        number = float(value)
    except ValueError:
        _refuse(f"confidence column {column!r} is not a number")
    if not math.isfinite(number) or not 0.0 <= number <= 100.0:
        _refuse(f"confidence column {column!r} is outside 0..1 and 0..100")
    return number if number <= 1.0 else number / 100.0


def _external_id(row: list[str], layout: Layout) -> str | None:
    value = layout.cell(row, "id")
    if len(value) > MAX_EXTERNAL_ID:
        _refuse(f"id column {layout.name('id')!r} is longer than {MAX_EXTERNAL_ID} characters")
    return value or None


def _refuse(reason: str) -> NoReturn:
    raise _RefusedError(reason)
