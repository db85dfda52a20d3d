"""Hotlist files: NCIC-style CSV through a column map, and JSON.

**CSV.** NCIC hot files and the state systems that relay them name their fields with
NCIC codes: ``LIC`` (the plate), ``LIS`` (its issuing state), ``ORI`` (the agency that
entered it) and ``OCA`` (that agency's case number). :data:`DEFAULT_COLUMNS` looks for
those, and for ``CASE_NUMBER``, ``CATEGORY``, ``REASON`` and ``EXPIRY``, in any letter
case. A :class:`ColumnMap` given as ``plate=Tag,expires=Purge Date`` renames fields; the
fields it does not name keep their default columns. The case number is the
``case_number`` column where it is mapped and filled (an agency's own case, when it
differs from the originating one), else ``OCA``.

**JSON.** An array of objects, or ``{"entries": [...]}``, with the keys ``plate``,
``state``, ``ori``, ``case_number``, ``reason``, ``category`` and ``expires``, all
strings (``state`` and ``ori`` may be ``null`` or absent). Other keys are ignored, as
exports carry more than a hotlist needs.

What each field must hold is :mod:`node.hotlists.items`'s to say; a record missing a
required field, holding a bad one or already expired is a
:class:`~node.ingest.observed.Skip` naming the row (``row N``, its first line, the header
being line 1) or entry (``entry N``, from 1) and the field, never a value.

Contract: the parsers MUST raise :class:`~node.ingest.errors.ImportFormatError` when
called, before any value is produced, if the file as a whole cannot be used (not CSV or
JSON, no header, a column that must be there is not). Use::

    items = parse_hotlist(text, HotlistFormat.CSV, columns=ColumnMap.parse("plate=Tag"),
                          defaults=Defaults(category="stolen-vehicle"), now=now)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields

from node.hotlists.formats import HotlistFormat
from node.hotlists.items import Defaults, HotlistItem, Refusal, check_item
from node.ingest.csv_table import (
    Layout,
    find_layout,
    is_blank,
    mapped_fields,
    parse_column_spec,
    read_rows,
)
from node.ingest.errors import ImportFormatError
from node.ingest.observed import Skip
from node.policy._fields import require_aware

#: The keys of a JSON entry.
JSON_KEYS = ("plate", "state", "ori", "case_number", "reason", "category", "expires")
_NO_DEFAULTS = Defaults()


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnMap:
    """Which column holds each field (``None``: the default column, if any)."""

    plate: str | None = None
    state: str | None = None
    ori: str | None = None
    oca: str | None = None
    case_number: str | None = None
    category: str | None = None
    reason: str | None = None
    expires: str | None = None

    @classmethod
    def parse(cls, spec: str) -> ColumnMap:
        """A map from ``key=Column`` items, e.g. ``plate=Tag,oca=Case No,expires=Purge``.

        Raises:
            ImportFormatError: as :func:`~node.ingest.csv_table.parse_column_spec`, or
                the spec names no column at all.
        """
        chosen = parse_column_spec(spec, [f.name for f in fields(cls)], ())
        if not chosen:
            raise ImportFormatError("the column map names no column")
        return cls(**chosen)


#: NCIC-style column names, found in any letter case; only those needed must be there.
DEFAULT_COLUMNS = ColumnMap(
    plate="LIC",
    state="LIS",
    ori="ORI",
    oca="OCA",
    case_number="CASE_NUMBER",
    category="CATEGORY",
    reason="REASON",
    expires="EXPIRY",
)


def parse_hotlist(
    text: str,
    fmt: HotlistFormat,
    *,
    columns: ColumnMap | None = None,
    defaults: Defaults = _NO_DEFAULTS,
    now: dt.datetime,
) -> Iterator[HotlistItem | Skip]:
    """The entries of a hotlist file, or a skip for each record that is not one.

    Raises:
        ImportFormatError: at once, if the file cannot be used, or ``columns`` is given
            for a JSON file.
    """
    if fmt is HotlistFormat.JSON:
        if columns is not None:
            raise ImportFormatError("a column map applies to CSV hotlists only")
        return parse_json_hotlist(text, defaults=defaults, now=now)
    return parse_csv_hotlist(text, columns=columns, defaults=defaults, now=now)


# -- CSV ----------------------------------------------------------------------------------


def parse_csv_hotlist(
    text: str,
    *,
    columns: ColumnMap | None = None,
    defaults: Defaults = _NO_DEFAULTS,
    now: dt.datetime,
) -> Iterator[HotlistItem | Skip]:
    """The entries of the CSV ``text``, one per data row, or a skip saying why not.

    Every column ``columns`` names must be in the header; of the defaults, those of the
    plate, the expiry, and the category and reason where ``defaults`` has none.

    Raises:
        ImportFormatError: at once, if the file or the map cannot be used.
    """
    require_aware(now)
    rows = read_rows(text)
    explicit = mapped_fields(columns) if columns is not None else {}
    wanted = {**mapped_fields(DEFAULT_COLUMNS), **explicit}
    required = {"plate", "expires", *explicit}
    required.update(f for f in ("category", "reason") if defaults.for_field(f) is None)
    layout = find_layout(rows[0][1], wanted, required, whole=False)
    if "oca" not in layout.index and "case_number" not in layout.index:
        raise ImportFormatError(
            f"the header has no case number column {wanted['oca']!r} or "
            f"{wanted['case_number']!r}; map one with oca=COLUMN or case_number=COLUMN"
        )
    return _csv_items(rows[1:], layout, defaults, now)


def _csv_items(
    rows: Iterable[tuple[int, list[str]]], layout: Layout, defaults: Defaults, now: dt.datetime
) -> Iterator[HotlistItem | Skip]:
    for line, row in rows:
        if is_blank(row):
            continue
        where = f"row {line}"
        problem = layout.width_problem(row)
        if problem is not None:
            yield Skip(where, problem)
            continue
        values = {name: layout.cell(row, name) for name in JSON_KEYS}
        own_case = layout.cell(row, "case_number")
        values["case_number"] = own_case or layout.cell(row, "oca")
        case_from = ("case_number",) if own_case else ("case_number", "oca")
        source = _csv_source(layout, case_from)
        yield _located(where, check_item(values, source=source, defaults=defaults, now=now))


def _csv_source(layout: Layout, case_from: tuple[str, ...]) -> Callable[[str], str]:
    def source(field: str) -> str:
        names = case_from if field == "case_number" else (field,)
        columns = [repr(layout.name(n)) for n in names if n in layout.index]
        if not columns:
            return "no column (and no default)"
        return f"column {' or '.join(columns)}"

    return source


# -- JSON ---------------------------------------------------------------------------------


def parse_json_hotlist(
    text: str, *, defaults: Defaults = _NO_DEFAULTS, now: dt.datetime
) -> Iterator[HotlistItem | Skip]:
    """The entries of JSON ``text``: an array of objects, or ``{"entries": [...]}``.

    Raises:
        ImportFormatError: at once, if the text is not JSON of either form.
    """
    require_aware(now)
    return _json_items(_json_entries(text), defaults, now)


def _json_entries(text: str) -> list[object]:
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ImportFormatError("the file is empty; expected a JSON array of hotlist entries")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:  # the message quotes no part of the text
        raise ImportFormatError(f"not JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except (ValueError, RecursionError) as e:  # over-long integers, too deep nesting
        raise ImportFormatError(f"not JSON: {e}") from e
    if isinstance(document, dict) and "entries" in document:
        document = document["entries"]
        if not isinstance(document, list):
            raise ImportFormatError('"entries" must be a JSON array of hotlist entries')
    if not isinstance(document, list):
        raise ImportFormatError(
            f"the file holds a JSON {type(document).__name__}, "
            'not an array of hotlist entries or an object with "entries"'
        )
    return document


def _json_items(
    entries: Iterable[object], defaults: Defaults, now: dt.datetime
) -> Iterator[HotlistItem | Skip]:
    for n, entry in enumerate(entries, 1):
        where = f"entry {n}"
        if not isinstance(entry, dict):
            yield Skip(where, f"a JSON {type(entry).__name__}, not an object")
            continue
        values, problem = _json_values(entry)
        if problem is not None:
            yield Skip(where, problem)
            continue
        yield _located(where, check_item(values, source=_json_source, defaults=defaults, now=now))


def _json_values(entry: Mapping[str, object]) -> tuple[dict[str, str], str | None]:
    values: dict[str, str] = {}
    for key in JSON_KEYS:
        value = entry.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            return values, f"{key} is not a string"
        values[key] = value.strip()
    return values, None


def _json_source(field: str) -> str:
    return f"key {field}"


# -- shared -------------------------------------------------------------------------------


def _located(where: str, checked: HotlistItem | Refusal) -> HotlistItem | Skip:
    return Skip(where, checked.reason) if isinstance(checked, Refusal) else checked
