"""Read imports from OpenALPR / Rekor Scout ``alpr_group`` JSON.

An OpenALPR agent sends an ``alpr_results`` value for every video frame a plate is seen in,
and, once the plate has left the picture, one ``alpr_group`` for the whole vehicle pass
with the best reading over all its frames. A read in Accord is one vehicle pass, so only
groups are imported: the per-frame results, heartbeats and vehicle records that share the
same stream are counted as skips, not stored twice.

The input is what an agent's webhook or queue consumer saved: one JSON object, a JSON
array of objects, or JSON Lines (one object per line). A record becomes an
:class:`~node.ingest.observed.ObservedRead` like this:

- ``time`` is ``best_plate.epoch_time`` when given, else ``epoch_start`` (milliseconds
  since the Unix epoch, UTC);
- ``candidates`` are the best plate (``best_plate_number`` with ``best_confidence``, and
  ``best_plate``'s own ``plate``) first, then the alternatives of ``best_plate.candidates``
  and the top-level ``candidates``, highest confidence first. Candidates are
  de-duplicated by normalised text, the first one kept; one with no letters or digits is
  dropped. OpenALPR confidences are percentages, so they are divided by 100;
- ``external_id`` is ``{agent_uid}:{best_uuid}`` (or ``best_uuid``, or the first of
  ``uuids``), so importing the same file twice stores nothing new;
- the camera is ``camera_map[str(camera_id)]``, else the ``camera`` given for the whole
  file.

Use::

    for item in parse_alpr_group(text, camera=None, camera_map={"1234": pier}):
        if isinstance(item, Skip):
            skipped += 1
        else:
            writer.add(item)

Contract: :func:`parse_alpr_group` MUST raise :class:`~node.ingest.errors.ImportFormatError`
when it is called, before any value is produced, if the text is not JSON at all (nor JSON
Lines with at least one object). Everything wrong with a single record or line is a
:class:`~node.ingest.observed.Skip`, whose reason MUST NOT contain a plate.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import NoReturn

from node.alpr.reads import Candidate
from node.ids import CameraId
from node.ingest.errors import ImportFormatError
from node.ingest.observed import MAX_EXTERNAL_ID, ObservedRead, Skip
from node.plates import normalise

#: The ``source`` of every read this module makes.
SOURCE = "openalpr"
#: The only ``data_type`` that describes a vehicle pass.
GROUP_TYPE = "alpr_group"

_NO_CAMERAS: Mapping[str, CameraId] = MappingProxyType({})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: Longest piece of a field's value quoted in a skip reason (never a plate field).
_SHOWN = 40

#: A record or line with where it was, or the skip it already is (a broken JSON line).
_Located = tuple[str, object] | Skip


class _RefusedError(Exception):
    """A record cannot become a read; the message is the skip's reason (it names no plate)."""


class _NotJsonError(Exception):
    """Text that :func:`json.loads` refused: why and where, never what the text was."""

    def __init__(self, why: str, line: int = 1, column: int | None = None) -> None:
        super().__init__(why)
        self.why, self.line, self.column = why, line, column

    def at(self, *, lines: bool) -> str:
        if self.column is None:
            return self.why
        line = f"line {self.line} " if lines else ""
        return f"{self.why} at {line}column {self.column}"


def parse_alpr_group(
    text: str,
    *,
    camera: CameraId | None,
    camera_map: Mapping[str, CameraId] = _NO_CAMERAS,
) -> Iterator[ObservedRead | Skip]:
    """The reads of OpenALPR ``alpr_group`` records in ``text``, and a skip for each other.

    ``camera`` is used for a record whose ``camera_id`` is absent or not in
    ``camera_map`` (keys are OpenALPR camera ids as strings); ``None`` means such a record
    is skipped. A skip's ``where`` is ``record N`` (JSON) or ``line N`` (JSON Lines),
    counted from 1.

    Raises:
        ImportFormatError: at once, if ``text`` is neither JSON nor JSON Lines.
    """
    return _reads(_records(text), camera, camera_map)


def _reads(
    records: Iterable[_Located], camera: CameraId | None, camera_map: Mapping[str, CameraId]
) -> Iterator[ObservedRead | Skip]:
    for item in records:
        if isinstance(item, Skip):
            yield item
            continue
        where, record = item
        try:
            yield _read(record, camera, camera_map)
        except _RefusedError as e:
            yield Skip(where, str(e))


# -- the file: JSON or JSON Lines ---------------------------------------------------------


def _records(text: str) -> list[_Located]:
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ImportFormatError("the file is empty; expected OpenALPR alpr_group JSON")
    try:
        document = _loads(text)
    except _NotJsonError as whole:
        return _json_lines(text, whole)
    if isinstance(document, list):
        return [(f"record {n}", record) for n, record in enumerate(document, 1)]
    if isinstance(document, dict):
        return [("record 1", document)]
    raise ImportFormatError(
        f"the file holds a JSON {type(document).__name__}, "
        "not an alpr_group object or an array of them"
    )


def _json_lines(text: str, whole: _NotJsonError) -> list[_Located]:
    """One record per line; a broken line is a skip, unless no line holds an object."""
    located: list[_Located] = []
    objects = 0
    # Split on newlines only: str.splitlines would also split at U+2028 inside a string.
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = _loads(line)
        except _NotJsonError as e:
            located.append(Skip(f"line {n}", f"not valid JSON: {e.at(lines=False)}"))
            continue
        objects += isinstance(value, dict)
        located.append((f"line {n}", value))
    if not objects:
        raise ImportFormatError(f"not JSON nor JSON Lines: {whole.at(lines=True)}")
    return located


def _loads(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise _NotJsonError(e.msg, e.lineno, e.colno) from e
    except (ValueError, RecursionError) as e:  # over-long integers, too deep nesting
        raise _NotJsonError(str(e)) from e


# -- one record ---------------------------------------------------------------------------


def _read(
    value: object, default: CameraId | None, camera_map: Mapping[str, CameraId]
) -> ObservedRead:
    if not isinstance(value, dict):
        _refuse(f"a JSON {type(value).__name__}, not an object")
    _check_type(value)
    return ObservedRead(
        camera_id=_camera(value, default, camera_map),
        time=_time(value),
        candidates=_candidates(value),
        source=SOURCE,
        external_id=_external_id(value),
    )


def _check_type(record: Mapping[str, object]) -> None:
    kind = record.get("data_type")
    if kind is None:
        _refuse(f"no data_type; only {GROUP_TYPE} records are imported")
    if kind != GROUP_TYPE:
        _refuse(f"data_type {_show(kind)} is not {GROUP_TYPE}")


def _camera(
    record: Mapping[str, object], default: CameraId | None, camera_map: Mapping[str, CameraId]
) -> CameraId:
    raw = record.get("camera_id")
    if raw is None:
        if default is None:
            _refuse("no camera_id and no default camera; pass a camera or a camera map")
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        _refuse("camera_id is not an integer or a string")
    key = str(raw).strip()
    mapped = camera_map.get(key)
    if mapped is not None:
        return mapped
    if default is None:
        _refuse(f"camera_id {_show(key)} is not in the camera map and no default camera is set")
    return default


def _time(record: Mapping[str, object]) -> dt.datetime:
    best = record.get("best_plate")
    field = "best_plate.epoch_time"
    millis: object = None
    if isinstance(best, dict):
        millis = best.get("epoch_time")
    if millis is None:
        field, millis = "epoch_start", record.get("epoch_start")
    if millis is None:
        _refuse("no epoch_start or best_plate.epoch_time")
    number = _number(millis)
    if number is None:
        _refuse(f"{field} is not a number")
    if number < 0:
        _refuse(f"{field} is before 1970")
    try:
        return _EPOCH + dt.timedelta(milliseconds=number)
    except OverflowError:
        _refuse(f"{field} is out of range")


def _candidates(record: Mapping[str, object]) -> tuple[Candidate, ...]:
    best, others = _best(record), _alternatives(record)
    others.sort(key=lambda c: -c.confidence)  # stable: equal confidences keep file order
    unique: dict[str, Candidate] = {}
    for candidate in (*best, *others):
        if candidate.text and candidate.text not in unique:
            unique[candidate.text] = candidate
    if not unique:
        _refuse("no usable plate (none with letters or digits)")
    return tuple(unique.values())


def _best(record: Mapping[str, object]) -> list[Candidate]:
    best: list[Candidate] = []
    if "best_plate_number" in record:
        if "best_confidence" not in record:
            _refuse("best_plate_number has no best_confidence")
        best.append(
            _candidate(record["best_plate_number"], record["best_confidence"], "best_plate_number")
        )
    plate = record.get("best_plate")
    if isinstance(plate, dict) and "plate" in plate:
        best.append(_candidate(plate["plate"], plate.get("confidence"), "best_plate"))
    return best


def _alternatives(record: Mapping[str, object]) -> list[Candidate]:
    plate = record.get("best_plate")
    lists = [
        ("best_plate.candidates", plate.get("candidates") if isinstance(plate, dict) else None),
        ("candidates", record.get("candidates")),
    ]
    found: list[Candidate] = []
    for name, entries in lists:
        if entries is None:
            continue
        if not isinstance(entries, list):
            _refuse(f"{name} is not a list")
        for i, entry in enumerate(entries):
            label = f"{name}[{i}]"
            if not isinstance(entry, dict):
                _refuse(f"{label} is not an object")
            found.append(_candidate(entry.get("plate"), entry.get("confidence"), label))
    return found


def _candidate(raw: object, confidence: object, label: str) -> Candidate:
    if not isinstance(raw, str):
        _refuse(f"{label} has no plate string")
    return Candidate(text=normalise(raw), raw=raw, confidence=_fraction(confidence, label))


def _fraction(percent: object, label: str) -> float:
    """An OpenALPR confidence (0..100 percent) as the 0..1 of a candidate."""
    number = _number(percent)
    if number is None:
        _refuse(f"{label} has no numeric confidence")
    if not 0.0 <= number <= 100.0:
        _refuse(f"{label} confidence {number:g} is outside 0..100")
    return min(max(number / 100.0, 0.0), 1.0)


def _external_id(record: Mapping[str, object]) -> str | None:
    best_uuid, agent = _text(record.get("best_uuid")), _text(record.get("agent_uid"))
    uuids = record.get("uuids")
    if best_uuid is not None:
        found: str | None = f"{agent}:{best_uuid}" if agent is not None else best_uuid
    elif isinstance(uuids, list) and uuids:
        found = _text(uuids[0])
    else:
        found = None
    if found is not None and len(found) > MAX_EXTERNAL_ID:
        _refuse(f"the record id is longer than {MAX_EXTERNAL_ID} characters")
    return found


# -- small helpers ------------------------------------------------------------------------


def _number(value: object) -> float | None:
    """A finite JSON number as a float; None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def _text(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _show(value: object) -> str:
    """A non-plate field's value, cut short, for a skip reason."""
    shown = str(value)
    return shown if len(shown) <= _SHOWN else shown[:_SHOWN] + "..."


def _refuse(reason: str) -> NoReturn:
    raise _RefusedError(reason)
