"""CSV files with a header line, read through a map from fields to columns.

Every CSV import of the node (reads in :mod:`node.ingest.csv_reads`, hotlists in
:mod:`node.hotlists.parse`) reads its file the same way, so an operator learns one set of
rules and one set of messages:

- the whole file is read up front (:func:`read_rows`), so a file that is not CSV or has no
  header fails before anything is stored;
- a column map is given as ``field=Column,...`` (:func:`parse_column_spec`); a column is
  found by its exact name, else by the same name in another letter case (:func:`find_layout`);
- a mapped column missing from the header is an error for the whole file, and the message
  shows the header only when some mapped column was found in it: a first line with none
  of them may be data, and its cells could be plates.

Failures of the file as a whole raise :class:`~node.ingest.errors.ImportFormatError`; what
is wrong with one row is the caller's to report as a skip.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from node.ingest.errors import ImportFormatError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def parse_column_spec(spec: str, known: Sequence[str], required: Sequence[str]) -> dict[str, str]:
    """Field -> column from ``key=Column`` items separated by commas, e.g. ``plate=LPN,time=At``.

    Keys are names from ``known``, in any case. Column names are taken as written, less the
    spaces around them; they cannot contain ``,`` or start with ``=``.

    Raises:
        ImportFormatError: an item is not ``key=column``, a key is unknown or given twice,
            or a key of ``required`` is missing.
    """
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
    missing = [key for key in required if key not in chosen]
    if missing:
        raise ImportFormatError(f"the column map needs {' and '.join(missing)}")
    return chosen


def mapped_fields(columns: DataclassInstance) -> dict[str, str]:
    """Field name -> column name of a column-map dataclass, for the fields it maps."""
    named = {f.name: getattr(columns, f.name) for f in dataclasses.fields(columns)}
    return {field: column for field, column in named.items() if column is not None}


def read_rows(text: str) -> list[tuple[int, list[str]]]:
    """Every row with the line it starts on, read up front so a broken file fails first.

    Raises:
        ImportFormatError: the text is not CSV, or its first line is not a header.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as e:
        raise ImportFormatError(f"not readable as CSV at line {reader.line_num}: {e}") from e
    if not rows or is_blank(rows[0][1]):
        raise ImportFormatError("the file has no header on its first line")
    return rows


def is_blank(row: Sequence[str]) -> bool:
    """A blank line, or one of empty cells: nothing to import and nothing to count."""
    return not any(cell.strip() for cell in row)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each mapped field is in a row, and its column's name for skip reasons."""

    index: Mapping[str, int]
    names: Mapping[str, str]
    width: int

    def cell(self, row: Sequence[str], field: str) -> str:
        """The field's cell, stripped; ``""`` when the field has no column."""
        at = self.index.get(field)
        return row[at].strip() if at is not None else ""

    def name(self, field: str) -> str:
        """The header's name of the field's column (the field's own name if unmapped)."""
        return self.names.get(field, field)

    def width_problem(self, row: Sequence[str]) -> str | None:
        """Why the row does not fit the header (too few cells, or extra non-empty ones)."""
        extra = row[self.width :]
        if len(row) < self.width or any(cell.strip() for cell in extra):
            return f"the row has {len(row)} fields; the header has {self.width}"
        return None


def find_layout(
    header: Sequence[str],
    wanted: Mapping[str, str],
    required: Collection[str],
    *,
    whole: bool,
) -> Layout:
    """Locate the ``wanted`` columns (field -> column name) in ``header``.

    With ``whole`` every wanted column must be there (a map the operator gave); otherwise
    only the fields of ``required`` (a default map, whose other columns are optional).

    Raises:
        ImportFormatError: a column that must be there is not.
    """
    names = [cell.strip() for cell in header]
    index: dict[str, int] = {}
    for field, column in wanted.items():
        at = _find(names, column)
        if at is not None:
            index[field] = at
    missing = {f: c for f, c in wanted.items() if f not in index and (whole or f in required)}
    if missing:
        raise _missing_columns(names, missing, any_found=bool(index))
    return Layout(index, {field: names[at] for field, at in index.items()}, len(header))


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
