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

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.alpr.candidates import normalise
from node.alpr.reads import Candidate
from node.ids import CameraId
from node.ingest.errors import ImportFormatError
from node.ingest.observed import MAX_EXTERNAL_ID, ObservedRead, Skip

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
        chosen: dict[str, str] = {}
        for item in filter(None, (i.strip() for i in spec.split(","))):
            name, equals, column = (part.strip() for part in item.partition("="))
            key = name.lower()
            if not equals or not key or not column:
                raise ImportFormatError(f"column map item {item!r} is not key=column")
            if key not in known:
                raise ImportFormatError(
                    f"unknown column map key {key!r}; the keys are {', '.join(known)}"
                )
            if key in chosen:
                raise ImportFormatError(f"column map key {key!r} is given twice")
            chosen[key] = column
        missing = [key for key in _REQUIRED if key not in chosen]
        if missing:
            raise ImportFormatError(f"the column map needs {' and '.join(missing)}")
        return cls(**chosen)


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
    rows = _rows(text)
    whole = columns is not None  # a map given must be found whole; the default need not
    layout = _layout(rows[0][1], DEFAULT_COLUMNS if columns is None else columns, whole=whole)
    return _reads(rows[1:], layout, clock, camera)


def _reads(
    rows: Iterable[tuple[int, list[str]]],
    layout: _Layout,
    clock: _Clock,
    camera: CameraId | None,
) -> Iterator[ObservedRead | Skip]:
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue  # a blank line, or one of empty cells: nothing to count
        try:
            yield _read(row, layout, clock, camera)
        except _RefusedError as e:
            yield Skip(f"row {line}", str(e))


# -- the file -----------------------------------------------------------------------------


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """Every row with the line it starts on, read up front so a broken file fails first."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as e:
        raise ImportFormatError(f"not readable as CSV at line {reader.line_num}: {e}") from e
    if not rows or not any(cell.strip() for cell in rows[0][1]):
        raise ImportFormatError("the file has no header on its first line")
    return rows


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each mapped field is in a row, and its column's name for skip reasons."""

    index: Mapping[str, int]
    names: Mapping[str, str]
    width: int

    def cell(self, row: Sequence[str], field: str) -> str:
        at = self.index.get(field)
        return row[at].strip() if at is not None else ""

    def name(self, field: str) -> str:
        return self.names.get(field, field)


def _layout(header: list[str], columns: ColumnMap, *, whole: bool) -> _Layout:
    names = [cell.strip() for cell in header]
    wanted = _mapped(columns)
    index: dict[str, int] = {}
    for field, column in wanted.items():
        at = _find(names, column)
        if at is not None:
            index[field] = at
    missing = {f: c for f, c in wanted.items() if f not in index and (whole or f in _REQUIRED)}
    if missing:
        raise _missing_columns(names, missing, any_found=bool(index))
    return _Layout(index, {field: names[at] for field, at in index.items()}, len(header))


def _mapped(columns: ColumnMap) -> dict[str, str]:
    """Field name -> column name, for the fields the map gives a column."""
    named = {f.name: getattr(columns, f.name) for f in fields(columns)}
    return {field: column for field, column in named.items() if column is not None}


def _find(names: list[str], column: str) -> int | None:
    """The column's position: its exact name first, else the same name in another case."""
    if column in names:
        return names.index(column)
    folded = [name.casefold() for name in names]
    return folded.index(column.casefold()) if column.casefold() in folded else None


def _missing_columns(
    names: list[str], missing: Mapping[str, str], *, any_found: bool
) -> ImportFormatError:
    listed = ", ".join(f"{column!r} (for {field})" for field, column in missing.items())
    if not any_found:
        # No mapped column is in the first line: it may be data, so its cells are not shown.
        return ImportFormatError(
            f"the first line has none of the mapped columns, missing {listed}; "
            "is the header line missing?"
        )
    return ImportFormatError(
        f"the header has no column {listed}; its columns are: {', '.join(names)}"
    )


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


def _read(row: list[str], layout: _Layout, clock: _Clock, default: CameraId | None) -> ObservedRead:
    _check_width(row, layout.width)
    return ObservedRead(
        camera_id=_camera(row, layout, default),
        time=clock.utc(layout.cell(row, "time"), layout.name("time")),
        candidates=_candidates(row, layout),
        source=SOURCE,
        external_id=_external_id(row, layout),
    )


def _check_width(row: list[str], width: int) -> None:
    extra = row[width:]
    if len(row) < width or any(cell.strip() for cell in extra):
        _refuse(f"the row has {len(row)} fields; the header has {width}")


def _camera(row: list[str], layout: _Layout, default: CameraId | None) -> CameraId:
    value = layout.cell(row, "camera")
    if value:
        return CameraId(value)
    if default is not None:
        return default
    if "camera" in layout.index:
        _refuse(f"camera column {layout.name('camera')!r} is empty and no camera is set")
    _refuse("no camera column is mapped and no camera is set for the file")


def _candidates(row: list[str], layout: _Layout) -> tuple[Candidate, ...]:
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


def _external_id(row: list[str], layout: _Layout) -> str | None:
    value = layout.cell(row, "id")
    if len(value) > MAX_EXTERNAL_ID:
        _refuse(f"id column {layout.name('id')!r} is longer than {MAX_EXTERNAL_ID} characters")
    return value or None


def _refuse(reason: str) -> NoReturn:
    raise _RefusedError(reason)
