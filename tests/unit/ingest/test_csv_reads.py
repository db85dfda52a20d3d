"""CSV read imports: the column map, times and zones, confidences, and every skip."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.ids import CameraId
from node.ingest.csv_reads import DEFAULT_COLUMNS, ColumnMap, parse_csv_reads
from node.ingest.errors import ImportFormatError
from node.ingest.observed import MAX_EXTERNAL_ID, ObservedRead, Skip

PIER = CameraId("cam-pier-01")
PLATE = "7ABC123"
SPEC = "plate=Plate,time=Read Time,camera=Cam,confidence=Conf,id=ReadID"
HEADER = "Plate,Read Time,Cam,Conf,ReadID"


def parse(text: str, **kwargs: Any) -> list[ObservedRead | Skip]:
    return list(parse_csv_reads(text, **kwargs))


def mapped(*rows: str, **kwargs: Any) -> list[ObservedRead | Skip]:
    """Rows under HEADER, parsed with SPEC."""
    kwargs.setdefault("columns", ColumnMap.parse(SPEC))
    return parse("\n".join((HEADER, *rows)) + "\n", **kwargs)


def one_read(row: str, **kwargs: Any) -> ObservedRead:
    (item,) = mapped(row, **kwargs)
    assert isinstance(item, ObservedRead), item
    return item


def one_skip(row: str, **kwargs: Any) -> Skip:
    (item,) = mapped(row, **kwargs)
    assert isinstance(item, Skip), item
    return item


# -- the column map -----------------------------------------------------------------------


def test_column_map_parses_a_spec() -> None:
    columns = ColumnMap.parse(SPEC + ", candidates = Alts ,")
    assert columns == ColumnMap(
        plate="Plate",
        time="Read Time",
        camera="Cam",
        confidence="Conf",
        id="ReadID",
        candidates="Alts",
    )
    assert ColumnMap.parse("time=T,PLATE=P") == ColumnMap(plate="P", time="T")


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "needs plate and time"),
        ("plate=P", "needs time"),
        ("time=T", "needs plate"),
        ("plate=P,time=T,colour=C", "unknown column map key 'colour'; the keys are plate, time"),
        ("plate=P,time=T,plate=Q", "'plate' is given twice"),
        ("plate=P,time", "'time' is not key=column"),
        ("plate=P,time=", "'time=' is not key=column"),
        ("plate=P,=T", "'=T' is not key=column"),
    ],
)
def test_bad_column_maps_raise(spec: str, problem: str) -> None:
    with pytest.raises(ImportFormatError, match=problem):
        ColumnMap.parse(spec)


def test_default_map_matches_header_names_in_any_case() -> None:
    text = "\ufeffPLATE,Time,Camera,CONFIDENCE,Id\n7abc123,2025-03-01T08:15:00Z,cam-1,0.8,r-1\n"
    (read,) = parse(text)
    assert isinstance(read, ObservedRead)
    assert (read.text, read.camera_id, read.external_id) == (PLATE, "cam-1", "r-1")
    assert read.confidence == pytest.approx(0.8)


def test_default_map_needs_only_plate_and_time() -> None:
    (read,) = parse("time,plate\n2025-03-01T08:15:00Z,7ABC123\n", camera=PIER)
    assert isinstance(read, ObservedRead)
    assert (read.camera_id, read.confidence, read.external_id) == (PIER, 1.0, None)
    assert DEFAULT_COLUMNS.plate == "plate"


def test_an_exact_header_name_wins_over_another_case() -> None:
    text = "plate,Plate,time\nIGNORED1,7ABC123,2025-03-01T08:15:00Z\n"
    (read,) = parse(text, columns=ColumnMap.parse("plate=Plate,time=time"), camera=PIER)
    assert isinstance(read, ObservedRead) and read.text == PLATE


def test_a_missing_mapped_column_raises_naming_it_and_the_header() -> None:
    with pytest.raises(ImportFormatError) as raised:
        parse("Plate,Time,Cam\n", columns=ColumnMap.parse("plate=Plate,time=Read Time"))
    message = str(raised.value)
    assert "'Read Time' (for time)" in message
    assert "its columns are: Plate, Time, Cam" in message


def test_an_explicit_map_must_be_found_whole() -> None:
    with pytest.raises(ImportFormatError, match="'Conf' \\(for confidence\\)"):
        parse(
            "Plate,Read Time\n",
            columns=ColumnMap.parse("plate=Plate,time=Read Time,confidence=Conf"),
        )


def test_a_missing_header_does_not_show_the_first_line() -> None:
    # A file without a header: its first line is data and may hold a plate.
    with pytest.raises(ImportFormatError, match="is the header line missing") as raised:
        parse(f"{PLATE},2025-03-01T08:15:00Z,cam-1\n")
    assert PLATE not in str(raised.value)


@pytest.mark.parametrize("text", ["", "\ufeff", "\n", ",,\n7ABC123,2025-01-01,c\n"])
def test_no_header_raises(text: str) -> None:
    with pytest.raises(ImportFormatError, match="no header"):
        parse_csv_reads(text)


def test_unreadable_csv_raises_at_once() -> None:
    huge = "x" * 200_000  # past the csv module's field size limit
    with pytest.raises(ImportFormatError, match="not readable as CSV at line 3: field larger"):
        parse_csv_reads(f"plate,time\n{PLATE},2025-03-01T08:15:00Z\n{huge},2025\n")


# -- good rows ----------------------------------------------------------------------------


def test_a_row_becomes_a_read() -> None:
    read = one_read("7ABC-123,2025-03-01T08:15:00Z,cam-1,0.93,r-17")
    assert read.camera_id == "cam-1"
    assert read.time == dt.datetime(2025, 3, 1, 8, 15, tzinfo=dt.UTC)
    assert read.source == "csv"
    assert read.external_id == "r-17"
    assert [(c.text, c.raw, c.confidence) for c in read.candidates] == [
        ("7ABC123", "7ABC-123", 0.93)
    ]


def test_rows_are_numbered_by_their_first_line_in_the_file() -> None:
    items = mapped(
        ",2025-03-01T08:15:00Z,cam-1,,",  # line 2
        "",  # line 3: blank, not counted
        '"7ABC\n123",2025-03-01T08:15:00Z,cam-1,,',  # lines 4-5
        ",2025-03-01T08:15:00Z,cam-1,,",  # line 6
        ",,,,",  # line 7: nothing in it, not counted
    )
    assert [type(i) for i in items] == [Skip, ObservedRead, Skip]
    assert [i.where for i in items if isinstance(i, Skip)] == ["row 2", "row 6"]


def test_candidates_column_adds_deduplicated_alternatives() -> None:
    text = "plate,time,candidates\n7ABC123,2025-03-01T08:15:00Z, 7ABC-123 | 7A8C123 ||--|7ABCI23\n"
    (read,) = parse(text, camera=PIER)
    assert isinstance(read, ObservedRead)
    assert [c.text for c in read.candidates] == ["7ABC123", "7A8C123", "7ABCI23"]
    assert [c.raw for c in read.candidates] == ["7ABC123", "7A8C123", "7ABCI23"]
    assert {c.confidence for c in read.candidates} == {1.0}


def test_camera_default_is_used_when_the_cell_is_empty() -> None:
    assert one_read("7ABC123,2025-03-01T08:15:00Z,,,", camera=PIER).camera_id == PIER
    assert one_read("7ABC123,2025-03-01T08:15:00Z,cam-9,,", camera=PIER).camera_id == "cam-9"


# -- confidence ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "confidence"),
    [("0", 0.0), ("0.42", 0.42), ("1", 1.0), ("1.5", 0.015), ("93", 0.93), ("100", 1.0), ("", 1.0)],
)
def test_confidence_is_a_fraction_or_a_percentage(cell: str, confidence: float) -> None:
    read = one_read(f"7ABC123,2025-03-01T08:15:00Z,cam-1,{cell},")
    assert read.confidence == pytest.approx(confidence)


@given(st.floats(min_value=0.0, max_value=100.0))
def test_any_confidence_in_zero_to_hundred_maps_into_zero_to_one(value: float) -> None:
    read = one_read(f"7ABC123,2025-03-01T08:15:00Z,cam-1,{value!r},")
    assert 0.0 <= read.confidence <= 1.0
    assert read.confidence == pytest.approx(value if value <= 1 else value / 100)


# -- time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "utc"),
    [
        ("2025-03-01T08:15:00Z", dt.datetime(2025, 3, 1, 8, 15, tzinfo=dt.UTC)),
        ("2025-03-01T08:15:00+01:00", dt.datetime(2025, 3, 1, 7, 15, tzinfo=dt.UTC)),
        (
            "2025-03-01 08:15:00.250-08:00",
            dt.datetime(2025, 3, 1, 16, 15, 0, 250000, tzinfo=dt.UTC),
        ),
    ],
)
def test_iso_times_with_an_offset_go_to_utc(cell: str, utc: dt.datetime) -> None:
    read = one_read(f"7ABC123,{cell},cam-1,,", timezone="Asia/Tokyo")  # offset wins
    assert read.time == utc
    assert read.time.tzinfo is dt.UTC


def test_naive_times_are_placed_in_the_given_zone() -> None:
    winter = one_read("7ABC123,2025-01-15 08:15:00,cam-1,,", timezone="America/Los_Angeles")
    summer = one_read("7ABC123,2025-07-15T08:15:00,cam-1,,", timezone="America/Los_Angeles")
    assert winter.time == dt.datetime(2025, 1, 15, 16, 15, tzinfo=dt.UTC)  # PST, -8
    assert summer.time == dt.datetime(2025, 7, 15, 15, 15, tzinfo=dt.UTC)  # PDT, -7


def test_a_repeated_local_time_is_taken_as_the_first() -> None:
    # 2025-11-02 01:30 happens twice in Los Angeles; the first is still PDT.
    read = one_read("7ABC123,2025-11-02 01:30:00,cam-1,,", timezone="America/Los_Angeles")
    assert read.time == dt.datetime(2025, 11, 2, 8, 30, tzinfo=dt.UTC)


def test_a_skipped_local_time_is_a_skip() -> None:
    skip = one_skip("7ABC123,2025-03-09 02:30:00,cam-1,,", timezone="America/Los_Angeles")
    assert "does not exist in America/Los_Angeles" in skip.reason


def test_a_naive_time_without_a_zone_is_a_skip_saying_to_pass_one() -> None:
    skip = one_skip("7ABC123,2025-03-01 08:15:00,cam-1,,")
    assert skip == Skip(
        "row 2",
        "time column 'Read Time' has no UTC offset; pass --timezone with the zone the "
        "file's times are in",
    )


@pytest.mark.parametrize(
    ("time_format", "cell", "utc"),
    [
        ("epoch", "1740816900", dt.datetime(2025, 3, 1, 8, 15, tzinfo=dt.UTC)),
        ("epoch", "1740816900.5", dt.datetime(2025, 3, 1, 8, 15, 0, 500000, tzinfo=dt.UTC)),
        ("epoch_ms", "1740816900123", dt.datetime(2025, 3, 1, 8, 15, 0, 123000, tzinfo=dt.UTC)),
        ("%m/%d/%Y %H:%M:%S", "03/01/2025 00:15:00", dt.datetime(2025, 3, 1, 8, 15, tzinfo=dt.UTC)),
        (
            "%d.%m.%Y %H:%M %z",
            "01.03.2025 09:15 +0100",
            dt.datetime(2025, 3, 1, 8, 15, tzinfo=dt.UTC),
        ),
    ],
)
def test_other_time_formats(time_format: str, cell: str, utc: dt.datetime) -> None:
    read = one_read(
        f"7ABC123,{cell},cam-1,,", time_format=time_format, timezone="America/Los_Angeles"
    )
    assert read.time == utc


def test_unknown_time_format_or_zone_raises_at_once() -> None:
    with pytest.raises(ImportFormatError, match="unknown time format 'unix'"):
        parse_csv_reads("plate,time\n", time_format="unix")
    with pytest.raises(ImportFormatError, match="unknown time zone 'Mars/Olympus'"):
        parse_csv_reads("plate,time\n", timezone="Mars/Olympus")
    with pytest.raises(ImportFormatError, match="unknown time zone"):
        parse_csv_reads("plate,time\n", timezone="../etc/passwd")


# -- skips --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "kwargs", "reason"),
    [
        (",2025-03-01T08:15:00Z,cam-1,,", {}, "plate column 'Plate' is empty"),
        ("  ,2025-03-01T08:15:00Z,cam-1,,", {}, "plate column 'Plate' is empty"),
        ("--·,2025-03-01T08:15:00Z,cam-1,,", {}, "plate column 'Plate' has no letters or digits"),
        (f"{PLATE},,cam-1,,", {}, "time column 'Read Time' is empty"),
        (
            f"{PLATE},01/03/2025,cam-1,,",
            {},
            "time column 'Read Time' is not a time in the ISO 8601 format",
        ),
        (
            f"{PLATE},-5,cam-1,,",
            {"time_format": "epoch"},
            "time column 'Read Time' is not a time in the 'epoch' format",
        ),
        (
            f"{PLATE},1e30,cam-1,,",
            {"time_format": "epoch_ms"},
            "time column 'Read Time' is not a time in the 'epoch_ms' format",
        ),
        (f"{PLATE},nan,cam-1,,", {"time_format": "epoch"}, "not a time in the 'epoch' format"),
        (f"{PLATE},0001-01-01T00:00:00+01:00,cam-1,,", {}, "'Read Time' is out of range"),
        (
            f"{PLATE},9999-12-31T23:59:00,cam-1,,",
            {"timezone": "Pacific/Honolulu"},
            "out of range",
        ),
        (
            f"{PLATE},2025-03-01,cam-1,,",
            {"time_format": "%d/%m/%Y"},
            "not a time in the '%d/%m/%Y' format",
        ),
        (
            f"{PLATE},2025-03-01T08:15:00Z,,,",
            {},
            "camera column 'Cam' is empty and no camera is set",
        ),
        (
            f"{PLATE},2025-03-01T08:15:00Z,cam-1,high,",
            {},
            "confidence column 'Conf' is not a number",
        ),
        (
            f"{PLATE},2025-03-01T08:15:00Z,cam-1,-0.1,",
            {},
            "confidence column 'Conf' is outside 0..1 and 0..100",
        ),
        (f"{PLATE},2025-03-01T08:15:00Z,cam-1,100.01,", {}, "is outside 0..1 and 0..100"),
        (f"{PLATE},2025-03-01T08:15:00Z,cam-1,inf,", {}, "is outside 0..1 and 0..100"),
        (
            f"{PLATE},2025-03-01T08:15:00Z,cam-1,,{'x' * (MAX_EXTERNAL_ID + 1)}",
            {},
            "id column 'ReadID' is longer than 128 characters",
        ),
        (f"{PLATE},2025-03-01T08:15:00Z,cam-1", {}, "the row has 3 fields; the header has 5"),
        (
            f"{PLATE},2025-03-01T08:15:00Z,cam-1,,,extra",
            {},
            "the row has 6 fields; the header has 5",
        ),
    ],
)
def test_bad_rows_are_skipped_with_a_reason(row: str, kwargs: dict[str, Any], reason: str) -> None:
    skip = one_skip(row, **kwargs)
    assert skip.where == "row 2"
    assert reason in skip.reason


def test_extra_empty_trailing_fields_are_allowed() -> None:
    assert one_read(f"{PLATE},2025-03-01T08:15:00Z,cam-1,,,,").text == PLATE


def test_no_camera_column_and_no_default_is_a_skip() -> None:
    (skip,) = parse(f"plate,time\n{PLATE},2025-03-01T08:15:00Z\n")
    assert skip == Skip("row 2", "no camera column is mapped and no camera is set for the file")


def test_a_bad_row_does_not_stop_the_rest() -> None:
    items = mapped(
        f"{PLATE},2025-03-01T08:15:00Z,cam-1,,a",
        f"{PLATE},not-a-time,cam-1,,b",
        f"{PLATE},2025-03-01T08:16:00Z,cam-1,,c",
    )
    assert [type(i) for i in items] == [ObservedRead, Skip, ObservedRead]
    assert [i.external_id for i in items if isinstance(i, ObservedRead)] == ["a", "c"]


def test_no_skip_reason_contains_the_plate() -> None:
    rows = [
        f"{PLATE},,cam-1,,",
        f"{PLATE},{PLATE},cam-1,,",
        f"{PLATE},2025-03-01 08:15:00,cam-1,,",
        f"{PLATE},2025-03-01T08:15:00Z,,,",
        f"{PLATE},2025-03-01T08:15:00Z,cam-1,{PLATE},",
        f"{PLATE},2025-03-01T08:15:00Z,cam-1,500,",
        f"{PLATE},2025-03-01T08:15:00Z,cam-1,,{PLATE * 30}",
        f"{PLATE},2025-03-01T08:15:00Z",
        f"{PLATE},2025-03-01T08:15:00Z,cam-1,,,{PLATE}",
    ]
    items = mapped(*rows)
    assert len(items) == len(rows)
    for item in items:
        assert isinstance(item, Skip), item
        assert PLATE not in item.reason
        assert PLATE.lower() not in item.reason.lower()
