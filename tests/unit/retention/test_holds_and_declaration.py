"""Hold requests are refused without what a hold needs; settings are declared in one format."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import typer

from accord.commands.holds import parse_expiry
from node.retention.errors import InvalidHoldError
from node.retention.holds import HoldRequest, case_commit, check_request
from node.retention.purge import declaration
from node.retention.settings import RetentionSettings
from node.store.holds import HoldSelector

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
CA = RetentionSettings.from_days("US-CA", {})


def _request(**overrides: object) -> HoldRequest:
    fields: dict[str, object] = {
        "case_number": "24-00123",
        "approver": "Lt. Reyes",
        "reason": "homicide investigation",
        "expires": NOW + dt.timedelta(days=200),
        "plate": "7QRS482",
    }
    fields.update(overrides)
    return HoldRequest(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"case_number": ""}, "case number"),
        ({"case_number": "   "}, "case number"),
        ({"approver": ""}, "approver"),
        ({"reason": ""}, "reason"),
        ({"expires": None}, "expiry"),
        ({"expires": NOW - dt.timedelta(days=1)}, "not in the future"),
        ({"expires": NOW}, "not in the future"),
        ({"expires": NOW + dt.timedelta(days=366)}, "held_reads setting of 365 days"),
        ({"case_number": "24-\n00123"}, "printable"),
        ({"case_number": "9" * 65}, "at most 64"),
        ({"plate": None}, "one way"),
        ({"read_ids": (1, 2)}, "one way"),
        ({"plate": " "}, "empty"),
        ({"plate": None, "camera_id": "cam-1"}, "--from and --to"),
        (
            {"plate": None, "camera_id": "cam-1", "from_time": NOW, "to_time": NOW},
            "after its --from",
        ),
    ],
)
def test_a_hold_without_what_it_needs_is_refused(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidHoldError, match=message):
        check_request(_request(**overrides), now=NOW, settings=CA)


def test_each_selector_is_recognised() -> None:
    assert check_request(_request(), now=NOW, settings=CA) is HoldSelector.PLATE
    by_ids = _request(plate=None, read_ids=(4, 5))
    assert check_request(by_ids, now=NOW, settings=CA) is HoldSelector.READS
    by_camera = _request(
        plate=None, camera_id="cam-1", from_time=NOW - dt.timedelta(hours=2), to_time=NOW
    )
    assert check_request(by_camera, now=NOW, settings=CA) is HoldSelector.CAMERA


def test_the_held_reads_setting_bounds_the_expiry() -> None:
    short = RetentionSettings.from_days("US-CA", {"held_reads": 30})
    with pytest.raises(InvalidHoldError, match="30 days"):
        check_request(_request(), now=NOW, settings=short)
    ok = _request(expires=NOW + dt.timedelta(days=30))
    assert check_request(ok, now=NOW, settings=short) is HoldSelector.PLATE


def test_the_case_commitment_is_the_salted_hash_queries_use() -> None:
    salt = bytes(range(32))
    expected = hashlib.sha256(b"accord/case-commit/v1\n" + salt + b"24-00123").hexdigest()
    assert case_commit(salt, "24-00123") == expected
    assert case_commit(bytes(32), "24-00123") != expected


def test_a_bare_expiry_date_keeps_the_whole_day_and_a_bad_one_is_refused() -> None:
    assert parse_expiry("2027-06-30") == dt.datetime(2027, 7, 1, tzinfo=dt.UTC)
    assert parse_expiry("2027-06-30T12:00") == dt.datetime(2027, 6, 30, 12, tzinfo=dt.UTC)
    with pytest.raises(typer.BadParameter):
        parse_expiry("next tuesday")


def test_the_declaration_lists_every_class_in_days_or_seconds() -> None:
    maine = RetentionSettings.from_days("US-ME", {"reads": 14})
    assert declaration(maine) == (
        "retention.set jurisdiction=US-ME reads=14 held_reads=365 crops=21 video=7 "
        "hotlists=0 query_records=21 received_hits=21"
    )
    new_hampshire = declaration(RetentionSettings.from_days("US-NH", {}))
    assert " reads=180s " in new_hampshire
    assert " held_reads=365 " in new_hampshire
