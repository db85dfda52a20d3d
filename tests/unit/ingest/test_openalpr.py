"""OpenALPR / Rekor ``alpr_group`` JSON: records to observed reads, and every way to skip."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.ids import CameraId
from node.ingest.errors import ImportFormatError
from node.ingest.observed import MAX_EXTERNAL_ID, ObservedRead, Skip
from node.ingest.openalpr import parse_alpr_group

PIER = CameraId("cam-pier-01")
GATE = CameraId("cam-gate-02")
PLATE = "D2651BF"
# 2019-07-09T14:05:21.504Z, the epoch_start of the Rekor Scout documentation's example.
START_MS = 1562681121504
START = dt.datetime(2019, 7, 9, 14, 5, 21, 504000, tzinfo=dt.UTC)


def group(**fields: Any) -> dict[str, Any]:
    """An alpr_group record shaped like the agent's, with ``fields`` replaced (None: drop)."""
    record: dict[str, Any] = {
        "data_type": "alpr_group",
        "version": 2,
        "epoch_start": START_MS,
        "epoch_end": START_MS + 2975,
        "agent_uid": "AGENT0001",
        "camera_id": 1234,
        "site_id": "pier",
        "best_plate_number": PLATE,
        "best_confidence": 92.94,
        "best_uuid": "AGENT0001-1234-1562681121543",
        "uuids": ["AGENT0001-1234-1562681121504", "AGENT0001-1234-1562681121543"],
        "best_plate": {
            "plate": PLATE,
            "confidence": 92.94,
            "candidates": [
                {"plate": PLATE, "confidence": 92.94},
                {"plate": "D2651F", "confidence": 80.81},
            ],
        },
        "candidates": [
            {"plate": PLATE, "confidence": 91.0},
            {"plate": "D265-1BF", "confidence": 85.0},
            {"plate": "D251BF", "confidence": 81.5},
        ],
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}


def parse(text: str, **kwargs: Any) -> list[ObservedRead | Skip]:
    kwargs.setdefault("camera", PIER)
    return list(parse_alpr_group(text, **kwargs))


def one_read(record: dict[str, Any], **kwargs: Any) -> ObservedRead:
    (item,) = parse(json.dumps(record), **kwargs)
    assert isinstance(item, ObservedRead), item
    return item


def one_skip(record: object, **kwargs: Any) -> Skip:
    (item,) = parse(json.dumps(record), **kwargs)
    assert isinstance(item, Skip), item
    return item


def test_a_group_becomes_a_read() -> None:
    read = one_read(group())
    assert read.camera_id == PIER
    assert read.time == START
    assert read.time.utcoffset() == dt.timedelta(0)
    assert read.source == "openalpr"
    assert read.external_id == "AGENT0001:AGENT0001-1234-1562681121543"
    assert read.text == PLATE
    assert read.confidence == pytest.approx(0.9294)


def test_candidates_are_best_first_deduplicated_and_ranked() -> None:
    read = one_read(group())
    # D265-1BF normalises to the best plate; D2651F and D251BF follow by confidence.
    assert [c.text for c in read.candidates] == [PLATE, "D251BF", "D2651F"]
    assert [c.confidence for c in read.candidates] == pytest.approx([0.9294, 0.815, 0.8081])
    assert len({c.text for c in read.candidates}) == len(read.candidates)


def test_raw_keeps_the_plate_as_given_and_text_is_normalised() -> None:
    read = one_read(
        group(
            best_plate_number="d265 1bf",
            best_plate=None,
            candidates=[{"plate": "7-XYZ·12", "confidence": 50}],
        )
    )
    assert [(c.text, c.raw) for c in read.candidates] == [
        ("D2651BF", "d265 1bf"),
        ("7XYZ12", "7-XYZ·12"),
    ]


def test_best_plate_object_alone_is_enough() -> None:
    read = one_read(group(best_plate_number=None, best_confidence=None, candidates=None))
    assert [c.text for c in read.candidates] == [PLATE, "D2651F"]


def test_top_level_candidates_alone_are_ranked_by_confidence() -> None:
    read = one_read(
        group(
            best_plate_number=None,
            best_confidence=None,
            best_plate=None,
            candidates=[
                {"plate": "AAA111", "confidence": 40},
                {"plate": "BBB222", "confidence": 70},
            ],
        )
    )
    assert [c.text for c in read.candidates] == ["BBB222", "AAA111"]


def test_candidates_without_letters_or_digits_are_dropped() -> None:
    read = one_read(group(candidates=[{"plate": "--", "confidence": 99}]))
    assert all(c.text for c in read.candidates)
    assert "" not in {c.text for c in read.candidates}


def test_time_prefers_the_best_reads_own_epoch() -> None:
    best = {"plate": PLATE, "confidence": 90, "epoch_time": START_MS + 1000}
    read = one_read(group(best_plate=best))
    assert read.time == START + dt.timedelta(seconds=1)


def test_external_id_falls_back_to_best_uuid_then_first_uuid() -> None:
    assert one_read(group(agent_uid=None)).external_id == "AGENT0001-1234-1562681121543"
    assert one_read(group(best_uuid=None)).external_id == "AGENT0001-1234-1562681121504"
    assert one_read(group(best_uuid=None, uuids=None)).external_id is None
    assert one_read(group(best_uuid=None, uuids=[])).external_id is None


def test_camera_map_wins_over_the_default() -> None:
    assert one_read(group(), camera_map={"1234": GATE}).camera_id == GATE
    assert one_read(group(camera_id="1234"), camera_map={"1234": GATE}).camera_id == GATE
    assert one_read(group(), camera_map={"99": GATE}).camera_id == PIER
    assert one_read(group(), camera=None, camera_map={"1234": GATE}).camera_id == GATE


def test_an_array_gives_one_item_per_record_numbered_from_one() -> None:
    records = [group(), group(data_type="alpr_results"), group(best_uuid="other")]
    items = parse(json.dumps(records))
    assert [type(i) for i in items] == [ObservedRead, Skip, ObservedRead]
    assert items[1] == Skip("record 2", "data_type alpr_results is not alpr_group")


def test_json_lines_with_a_broken_line_skip_it_and_go_on() -> None:
    lines = [
        json.dumps(group()),
        '{"data_type": "alpr_group", "epoch_start": ',
        "",
        json.dumps({"data_type": "heartbeat"}),
        json.dumps(group(best_uuid="second")),
    ]
    items = parse("\n".join(lines) + "\n")
    assert [type(i) for i in items] == [ObservedRead, Skip, Skip, ObservedRead]
    broken, heartbeat = items[1], items[2]
    assert isinstance(broken, Skip) and broken.where == "line 2"
    assert broken.reason.startswith("not valid JSON: Expecting value")
    assert heartbeat == Skip("line 4", "data_type heartbeat is not alpr_group")


def test_json_lines_with_crlf_and_a_bom() -> None:
    text = "\ufeff" + json.dumps(group()) + "\r\n" + json.dumps(group(best_uuid="b")) + "\r\n"
    items = parse(text)
    assert [i.external_id for i in items if isinstance(i, ObservedRead)] == [
        "AGENT0001:AGENT0001-1234-1562681121543",
        "AGENT0001:b",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("plate,time\nABC123,2025-01-01", "not JSON nor JSON Lines: Expecting value at line 1"),
        ('{"data_type": "alpr_group",\n "epoch_start": }', "not JSON nor JSON Lines"),
        ("[1, 2", "not JSON nor JSON Lines"),
        ("42", "JSON int, not an alpr_group object"),
        ('"alpr_group"', "JSON str"),
        ("1\n2\n", "JSON Lines"),
    ],
)
def test_text_that_is_not_json_raises_at_once(text: str, problem: str) -> None:
    with pytest.raises(ImportFormatError, match=problem):
        parse_alpr_group(text, camera=PIER)  # no iteration: the call itself raises


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ([["not", "an", "object"]], "a JSON list, not an object"),
        (group(data_type=None), "no data_type; only alpr_group records are imported"),
        (group(data_type="vehicle"), "data_type vehicle is not alpr_group"),
        (group(data_type="x" * 100), "data_type " + "x" * 40 + "... is not alpr_group"),
        (group(epoch_start=None), "no epoch_start or best_plate.epoch_time"),
        (group(epoch_start="yesterday"), "epoch_start is not a number"),
        (group(epoch_start=True), "epoch_start is not a number"),
        (group(epoch_start=-1), "epoch_start is before 1970"),
        (group(epoch_start=10**400), "epoch_start is not a number"),
        (group(epoch_start=1e300), "epoch_start is out of range"),
        (group(camera_id=[1]), "camera_id is not an integer or a string"),
        (group(best_confidence=None), "best_plate_number has no best_confidence"),
        (group(best_confidence=-0.5), "best_plate_number confidence -0.5 is outside 0..100"),
        (group(best_confidence=100.5), "best_plate_number confidence 100.5 is outside 0..100"),
        (group(best_confidence="high"), "best_plate_number has no numeric confidence"),
        (group(best_plate_number=7), "best_plate_number has no plate string"),
        (group(candidates={"plate": PLATE}), "candidates is not a list"),
        (group(candidates=["ABC123"]), r"candidates\[0\] is not an object"),
        (
            group(candidates=[{"plate": "AB12"}]),
            r"candidates\[0\] has no numeric confidence",
        ),
        (
            group(candidates=[{"plate": "AB12", "confidence": 101}]),
            r"candidates\[0\] confidence 101 is outside 0..100",
        ),
        (
            group(best_plate_number="·-·", best_plate=None, candidates=[]),
            r"no usable plate \(none with letters or digits\)",
        ),
        (
            group(best_plate_number=None, best_confidence=None, best_plate=None, candidates=None),
            "no usable plate",
        ),
        (group(best_uuid="u" * MAX_EXTERNAL_ID), "record id is longer than 128 characters"),
    ],
)
def test_bad_records_are_skipped_with_a_reason(record: object, reason: str) -> None:
    skip = one_skip(record)
    assert skip.where == "record 1"
    assert re.search(reason, skip.reason), skip.reason
    assert PLATE not in skip.reason


def test_no_camera_is_a_skip_saying_how_to_give_one() -> None:
    assert one_skip(group(camera_id=None), camera=None) == Skip(
        "record 1", "no camera_id and no default camera; pass a camera or a camera map"
    )
    skip = one_skip(group(), camera=None, camera_map={"99": GATE})
    assert skip.reason == "camera_id 1234 is not in the camera map and no default camera is set"


def test_no_skip_reason_contains_the_plate() -> None:
    bad = [
        group(data_type="alpr_results"),
        group(best_confidence=150),
        group(candidates=[{"plate": PLATE, "confidence": -3}]),
        group(best_plate_number=PLATE, best_confidence=None),
        group(epoch_start="soon"),
        group(best_uuid=PLATE * 40),
    ]
    text = "\n".join(json.dumps(r) for r in bad) + "\n{" + PLATE + "\n"
    items = parse(text)
    assert len(items) == len(bad) + 1
    for item in items:
        assert isinstance(item, Skip)
        assert PLATE not in item.reason.upper()
        assert PLATE.lower() not in item.reason


@given(st.floats(min_value=0.0, max_value=100.0))
def test_any_percent_in_range_maps_into_zero_to_one(percent: float) -> None:
    record = group(best_confidence=percent, best_plate=None, candidates=None)
    read = one_read(record)
    assert 0.0 <= read.confidence <= 1.0
    assert read.confidence == pytest.approx(percent / 100)
