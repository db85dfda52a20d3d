"""Hotlist files: the column map and NCIC defaults, JSON forms, expiry dates, every skip."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.hotlists.formats import HotlistFormat
from node.hotlists.items import Defaults, HotlistItem, category_code, parse_expiry
from node.hotlists.parse import (
    DEFAULT_COLUMNS,
    ColumnMap,
    parse_csv_hotlist,
    parse_hotlist,
    parse_json_hotlist,
)
from node.ingest.errors import ImportFormatError
from node.ingest.observed import Skip

NOW = dt.datetime(2025, 3, 14, 15, 9, 26, tzinfo=dt.UTC)
PLATE = "7ABC123"
HEADER = "LIC,LIS,ORI,OCA,CATEGORY,REASON,EXPIRY"
GOOD = f"{PLATE},CA,CA0194200,24-00123,stolen-vehicle,stolen vehicle,2025-12-31"


def csv_items(*rows: str, header: str = HEADER, **kwargs: Any) -> list[HotlistItem | Skip]:
    kwargs.setdefault("now", NOW)
    return list(parse_csv_hotlist("\n".join((header, *rows)) + "\n", **kwargs))


def one_item(row: str, **kwargs: Any) -> HotlistItem:
    (item,) = csv_items(row, **kwargs)
    assert isinstance(item, HotlistItem), item
    return item


def one_skip(row: str, **kwargs: Any) -> Skip:
    (item,) = csv_items(row, **kwargs)
    assert isinstance(item, Skip), item
    return item


def json_items(document: object, **kwargs: Any) -> list[HotlistItem | Skip]:
    kwargs.setdefault("now", NOW)
    return list(parse_json_hotlist(json.dumps(document), **kwargs))


def entry(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "plate": "7abc-123",
        "state": "ca",
        "ori": "CA0194200",
        "case_number": "24-00123",
        "reason": "stolen vehicle",
        "category": "stolen-vehicle",
        "expires": "2025-12-31",
    }
    fields.update(overrides)
    return fields


# -- CSV: columns -------------------------------------------------------------------------


def test_ncic_defaults_give_a_whole_entry() -> None:
    item = one_item(GOOD)
    assert item == HotlistItem(
        plate=PLATE,
        case_number="24-00123",
        reason="stolen vehicle",
        category="stolen-vehicle",
        expires=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        state="CA",
        ori="CA0194200",
    )
    assert PLATE not in repr(item)


def test_default_headers_match_in_any_case_with_a_byte_order_mark() -> None:
    text = "\ufefflic,Lis,ori,Oca,category,reason,expiry\n7abc 123,ca,,24-1,Felony Vehicle,armed,2025-12-31\n"
    (item,) = parse_csv_hotlist(text, now=NOW)
    assert isinstance(item, HotlistItem)
    assert (item.plate, item.state, item.ori, item.category) == (
        PLATE,
        "CA",
        None,
        "felony-vehicle",
    )


def test_column_map_renames_some_fields_and_keeps_the_other_defaults() -> None:
    columns = ColumnMap.parse(" plate = Tag , EXPIRES=Purge Date,")
    assert columns == ColumnMap(plate="Tag", expires="Purge Date")
    header = "Tag,LIS,OCA,CATEGORY,REASON,Purge Date"
    item = one_item(f"{PLATE},TX,24-1,stolen,stolen,2025-06-30", header=header, columns=columns)
    assert (item.plate, item.state, item.ori) == (PLATE, "TX", None)
    assert item.expires == dt.datetime(2025, 7, 1, tzinfo=dt.UTC)


def test_an_own_case_number_column_wins_over_oca_when_filled() -> None:
    header = HEADER + ",CASE_NUMBER"
    own = one_item(GOOD + ",SM-2025-7", header=header)
    assert own.case_number == "SM-2025-7"
    assert one_item(GOOD + ",", header=header).case_number == "24-00123"
    mapped = ColumnMap.parse("case_number=Local Case")
    item = one_item(GOOD + ",L-9", header=HEADER + ",Local Case", columns=mapped)
    assert item.case_number == "L-9"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "names no column"),
        (" , ", "names no column"),
        ("colour=C", "unknown column map key 'colour'; the keys are plate, state, ori, oca"),
        ("plate=A,PLATE=B", "'plate' is given twice"),
        ("plate", "'plate' is not key=column"),
        ("plate=", "'plate=' is not key=column"),
    ],
)
def test_bad_column_maps_raise(spec: str, problem: str) -> None:
    with pytest.raises(ImportFormatError, match=problem):
        ColumnMap.parse(spec)


@pytest.mark.parametrize(
    ("header", "kwargs", "problem"),
    [
        ("LIS,OCA,CATEGORY,REASON,EXPIRY", {}, r"no column 'LIC' \(for plate\)"),
        ("LIC,OCA,CATEGORY,REASON", {}, r"'EXPIRY' \(for expires\)"),
        ("LIC,OCA,REASON,EXPIRY", {}, r"'CATEGORY' \(for category\)"),
        ("LIC,OCA,CATEGORY,EXPIRY", {}, r"'REASON' \(for reason\)"),
        ("LIC,CATEGORY,REASON,EXPIRY", {}, "no case number column 'OCA' or 'CASE_NUMBER'"),
        (HEADER, {"columns": ColumnMap(state="Issuing State")}, "'Issuing State' .for state."),
        ("a,b,c", {}, "is the header line missing"),
    ],
)
def test_missing_columns_fail_the_whole_file(
    header: str, kwargs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ImportFormatError, match=problem):
        parse_csv_hotlist(header + "\n" + GOOD + "\n", now=NOW, **kwargs)


def test_defaults_stand_in_for_missing_category_and_reason_columns() -> None:
    defaults = Defaults(category="Stolen Vehicle", reason="NCIC stolen vehicle file")
    item = one_item(f"{PLATE},24-1,2025-12-31", header="LIC,OCA,EXPIRY", defaults=defaults)
    assert (item.category, item.reason) == ("stolen-vehicle", "NCIC stolen vehicle file")
    # A row's own value beats the default; an empty cell falls back to it.
    both = one_item(f"{PLATE},,,24-1,wanted,,2025-12-31", defaults=defaults)
    assert (both.category, both.reason) == ("wanted", "NCIC stolen vehicle file")


@pytest.mark.parametrize(
    ("defaults", "problem"),
    [
        ({"category": "!!"}, "default category '!!' is not a code"),
        ({"reason": " "}, "default reason"),
        ({"reason": "x" * 501}, "default reason"),
    ],
)
def test_bad_defaults_raise(defaults: dict[str, str], problem: str) -> None:
    with pytest.raises(ImportFormatError, match=problem):
        Defaults(**defaults)


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", ",,\n" + GOOD, 'LIC,"OCA\n'],
)
def test_files_without_a_header_or_not_csv_fail(text: str) -> None:
    with pytest.raises(ImportFormatError):
        parse_csv_hotlist(text, now=NOW)


# -- CSV: skips ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",CA,,24-1,stolen,stolen,2025-12-31", "no plate (in column 'LIC')"),
        (f"{PLATE},CA,,,stolen,stolen,2025-12-31", "no case number (in column 'OCA')"),
        (f"{PLATE},CA,,24-1,stolen,,2025-12-31", "no reason (in column 'REASON')"),
        (f"{PLATE},CA,,24-1,,stolen,2025-12-31", "no category (in column 'CATEGORY')"),
        (f"{PLATE},CA,,24-1,stolen,stolen,", "no expires (in column 'EXPIRY')"),
        ("--- ---,CA,,24-1,stolen,stolen,2025-12-31", "has no letters or digits"),
        ("A" * 17 + ",CA,,24-1,stolen,stolen,2025-12-31", "more than 16 letters or digits"),
        (f"{PLATE},CA,,{'9' * 65},stolen,stolen,2025-12-31", "case number (column 'OCA')"),
        (f"{PLATE},CA,,24-1,stolen,{'r' * 501},2025-12-31", "longer than 500 characters"),
        (f'{PLATE},CA,,24-1,stolen,"a\tb",2025-12-31', "reason (column 'REASON') has control"),
        (f"{PLATE},CA,,24-1,Stolen/Vehicle,stolen,2025-12-31", "category (column 'CATEGORY')"),
        (f"{PLATE},CA,,24-1,stolen,stolen,31/12/2025", "is not a date or an ISO 8601 time"),
        (f"{PLATE},CA,,24-1,stolen,stolen,2025-12-31T10:00", "without a UTC offset"),
        (f"{PLATE},CA,,24-1,stolen,stolen,9999-12-31", "is out of range"),
        (f"{PLATE},CA,,24-1,stolen,stolen,2025-03-13", "expired"),
        (f"{PLATE},CA,,24-1,stolen,stolen,2025-03-14T15:09:26Z", "expired"),
        (f"{PLATE},C A,,24-1,stolen,stolen,2025-12-31", "state (column 'LIS')"),
        (f"{PLATE},CA,CA01,24-1,stolen,stolen,2025-12-31", "ORI (column 'ORI')"),
        (f"{PLATE},CA,,24-1,stolen,stolen", "the row has 6 fields; the header has 7"),
        (GOOD + ",extra", "the row has 8 fields; the header has 7"),
    ],
)
def test_bad_rows_are_skips_naming_row_and_field_never_the_plate(row: str, reason: str) -> None:
    skip = one_skip(row)
    assert skip.where == "row 2"
    assert reason in skip.reason
    assert PLATE not in skip.reason


def test_missing_case_names_both_case_columns_and_rows_count_lines() -> None:
    header = HEADER + ",CASE_NUMBER"
    items = csv_items("", GOOD + ",", f"{PLATE},CA,,,stolen,stolen,2025-12-31,", header=header)
    # The blank line is not counted, but it is a line.
    assert isinstance(items[0], HotlistItem)
    assert items[1] == Skip("row 4", "no case number (in column 'CASE_NUMBER' or 'OCA')")
    # A row is named by its first line; a quoted newline (not printable: a skip) moves
    # the next row's line.
    multi = csv_items(f'{PLATE},CA,,24-1,stolen,"two\nlines",2025-12-31', "bad")
    assert [i.where for i in multi if isinstance(i, Skip)] == ["row 2", "row 4"]


def test_trailing_empty_cells_fit_the_header() -> None:
    assert isinstance(one_item(GOOD + ",,"), HotlistItem)


# -- expiry -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-31", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("20251231", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("2025-12-31T23:00:00Z", dt.datetime(2025, 12, 31, 23, tzinfo=dt.UTC)),
        ("2025-12-31T18:00:00-05:00", dt.datetime(2025, 12, 31, 23, tzinfo=dt.UTC)),
        ("2025-12-31 23:30+00:00", dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC)),
    ],
)
def test_expiry_is_a_date_to_its_end_or_a_time_with_an_offset(
    text: str, expected: dt.datetime
) -> None:
    assert parse_expiry(text) == expected


@given(st.dates(max_value=dt.date(9999, 12, 30)))
def test_a_date_lasts_through_its_whole_utc_day(day: dt.date) -> None:
    end = parse_expiry(day.isoformat())
    assert end == dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(days=1)
    assert end > dt.datetime.combine(day, dt.time.max, dt.UTC)


@given(
    st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(9000, 1, 1),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-7))]),
    )
)
def test_times_with_offsets_round_trip_in_utc(moment: dt.datetime) -> None:
    assert parse_expiry(moment.isoformat()) == moment
    assert parse_expiry(moment.isoformat()).tzinfo == dt.UTC


def test_category_codes() -> None:
    assert category_code(" Stolen  Vehicle ") == "stolen-vehicle"
    assert category_code("immigration_violator") == "immigration-violator"
    assert category_code("ncic:v.stolen") == "ncic:v.stolen"
    assert category_code("-leading") is None
    assert category_code("x" * 65) is None


# -- JSON ---------------------------------------------------------------------------------


def test_json_array_and_entries_object_are_the_same() -> None:
    expected = HotlistItem(
        plate=PLATE,
        case_number="24-00123",
        reason="stolen vehicle",
        category="stolen-vehicle",
        expires=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        state="CA",
        ori="CA0194200",
    )
    assert json_items([entry()]) == [expected]
    assert json_items({"entries": [entry()], "generated": "2025-03-14"}) == [expected]


def test_json_optional_keys_may_be_null_or_absent_and_extra_keys_are_ignored() -> None:
    (item,) = json_items([entry(state=None, ori=None, make="Honda", notes=[1, 2])])
    assert isinstance(item, HotlistItem)
    assert (item.state, item.ori) == (None, None)
    del_state = entry()
    del del_state["state"]
    assert isinstance(json_items([del_state])[0], HotlistItem)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (entry(plate=None), "no plate (in key plate)"),
        (entry(case_number=""), "no case number (in key case_number)"),
        (entry(case_number="  "), "no case number (in key case_number)"),
        (entry(reason=None), "no reason (in key reason)"),
        (entry(category=None), "no category (in key category)"),
        (entry(expires=None), "no expires (in key expires)"),
        (entry(case_number=24123), "case_number is not a string"),
        (entry(plate=["7ABC123"]), "plate is not a string"),
        (entry(expires="2020-01-01"), "expired (the expiry in key expires has passed)"),
        (entry(ori="nope"), "the ORI (key ori) is not two letters and seven letters or digits"),
        ("7ABC123", "a JSON str, not an object"),
        ([entry()], "a JSON list, not an object"),
    ],
)
def test_bad_json_entries_are_skips_never_naming_the_plate(record: object, reason: str) -> None:
    items = json_items([entry(), record])
    assert isinstance(items[0], HotlistItem)
    assert items[1] == Skip("entry 2", reason)
    assert PLATE not in items[1].reason


def test_json_defaults_fill_category_and_reason() -> None:
    record = entry(category=None, reason=None)
    (item,) = json_items([record], defaults=Defaults(category="wanted", reason="warrant"))
    assert isinstance(item, HotlistItem)
    assert (item.category, item.reason) == ("wanted", "warrant")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("  \n", "the file is empty"),
        ('[{"plate": "7ABC123",', "not JSON: Expecting"),
        ('{"plate": "7ABC123"}', "a JSON dict, not an array"),
        ('"7ABC123"', "a JSON str"),
        ('{"entries": {"plate": "7ABC123"}}', '"entries" must be a JSON array'),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_unusable_json_files_fail_without_quoting_them(text: str, problem: str) -> None:
    with pytest.raises(ImportFormatError, match=problem) as raised:
        parse_json_hotlist(text, now=NOW)
    assert PLATE not in str(raised.value)


def test_dispatch_by_format_and_suffix() -> None:
    text = json.dumps([entry()])
    assert len(list(parse_hotlist(text, HotlistFormat.JSON, now=NOW))) == 1
    with pytest.raises(ImportFormatError, match="CSV hotlists only"):
        parse_hotlist(text, HotlistFormat.JSON, columns=DEFAULT_COLUMNS, now=NOW)
    csv_text = HEADER + "\n" + GOOD + "\n"
    assert len(list(parse_hotlist(csv_text, HotlistFormat.CSV, now=NOW))) == 1
    assert HotlistFormat.for_path(Path("list.JSON")) is HotlistFormat.JSON
    assert HotlistFormat.for_path(Path("ncic.txt")) is HotlistFormat.CSV


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_csv_hotlist(HEADER + "\n", now=dt.datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_json_hotlist("[]", now=dt.datetime(2025, 1, 1))


# -- no plate in any skip -----------------------------------------------------------------

_PLATES = st.from_regex(r"\A[0-9][A-Z0-9]{4,7}\Z")
_BREAKERS = st.sampled_from(
    [
        lambda p: f"{p},CA,,,stolen,stolen,2025-12-31",
        lambda p: f"{p},CA,,24-1,stolen,,2025-12-31",
        lambda p: f"{p},CA,,24-1,,stolen,2025-12-31",
        lambda p: f"{p},CA,,24-1,stolen,stolen,",
        lambda p: f"{p},CA,,24-1,stolen,stolen,2020-01-01",
        lambda p: f"{p},CA,,24-1,stolen,stolen,x{p}",
        lambda p: f"{p},{p},{p},24-1,{p}/x,stolen,2025-12-31",
        lambda p: f"{p},{p} X,,24-1,stolen,stolen,2025-12-31",
        lambda p: f"{p * 4},CA,,24-1,stolen,stolen,2025-12-31",
        lambda p: f"{p},CA,,24-1,stolen",
    ]
)


@given(_PLATES, _BREAKERS)
def test_no_skip_reason_ever_contains_the_plate(plate: str, breaker: Any) -> None:
    (skip,) = csv_items(breaker(plate))
    assert isinstance(skip, Skip)
    assert plate not in skip.reason
    assert plate.lower() not in skip.reason.lower()


@given(_PLATES, st.sampled_from(["state", "ori", "case_number", "expires"]))
def test_no_json_skip_reason_contains_the_plate(plate: str, key: str) -> None:
    bad = {"state": f"{plate} x", "ori": plate, "case_number": [plate], "expires": f"x{plate}"}
    (skip,) = json_items([entry(plate=plate, **{key: bad[key]})])
    assert isinstance(skip, Skip)
    assert plate not in skip.reason
