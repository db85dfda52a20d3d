"""Hotlists: required fields, sealed plates, re-run imports, expiry."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy.orm import Session

from node.ids import HotlistId
from node.store.epochs import DataClass
from node.store.errors import DuplicateError, NotFoundError
from node.store.hotlists import Hotlist, HotlistRepository, NewHotlistEntry
from tests.unit.store import _builders as b
from tests.unit.store.conftest import NOW

STOLEN = HotlistId("ncic-stolen")


def _entry(plate: str, case: str = "24-00123", **overrides: object) -> NewHotlistEntry:
    fields: dict[str, object] = {
        "epoch": b.EPOCH,
        "plate_ciphertext": b"sealed:" + b.tag(plate),
        "plate_lookup": b.tag(plate),
        "case_number": case,
        "reason": "stolen vehicle",
        "category": "stolen-vehicle",
        "expires": NOW + dt.timedelta(days=30),
        "region": "CA",
        "ori": "CA0194200",
    }
    fields.update(overrides)
    return NewHotlistEntry(**fields)  # type: ignore[arg-type]


@pytest.fixture
def hotlists(session: Session) -> HotlistRepository:
    b.epoch(session, DataClass.HOTLISTS)
    repo = HotlistRepository(session)
    repo.create(Hotlist(STOLEN, "NCIC stolen vehicles", "ncic-2025-03-14.csv", NOW))
    return repo


def test_hotlists_round_trip(hotlists: HotlistRepository, session: Session) -> None:
    assert hotlists.get(STOLEN) == Hotlist(
        STOLEN, "NCIC stolen vehicles", "ncic-2025-03-14.csv", NOW
    )
    assert [h.id for h in hotlists.all()] == [STOLEN]
    with pytest.raises(DuplicateError), session.begin_nested():
        hotlists.create(Hotlist(STOLEN, "again", "x", NOW))
    hotlists.delete(STOLEN)
    assert hotlists.get(STOLEN) is None
    with pytest.raises(NotFoundError):
        hotlists.delete(STOLEN)


def test_entries_round_trip_and_reimports_skip_duplicates(hotlists: HotlistRepository) -> None:
    new = _entry("7ABC123")
    assert hotlists.add_entries(STOLEN, [new, _entry("8XYZ999")], now=NOW) == 2
    # The same plate for another case is a separate entry; the same plate and case is not.
    again = [_entry("7ABC123"), _entry("7ABC123", case="24-00999")]
    assert hotlists.add_entries(STOLEN, again, now=NOW) == 1
    assert hotlists.add_entries(STOLEN, [], now=NOW) == 0

    stored = hotlists.entries(STOLEN)
    assert len(stored) == 3
    first = stored[0]
    for field in dataclasses.fields(NewHotlistEntry):
        assert getattr(first, field.name) == getattr(new, field.name), field.name
    assert first.hotlist_id == STOLEN
    assert first.added == NOW


def test_entries_need_case_reason_category_and_expiry() -> None:
    for field in ("case_number", "reason", "category"):
        with pytest.raises(ValueError, match=field.replace("_", " ")):
            _entry("7ABC123", **{field: " "})
    with pytest.raises(ValueError, match="aware"):
        _entry("7ABC123", expires=dt.datetime(2030, 1, 1))


def test_matching_filters_and_expiry(hotlists: HotlistRepository, session: Session) -> None:
    soon = NOW + dt.timedelta(hours=1)
    hotlists.add_entries(
        STOLEN,
        [
            _entry("7ABC123"),
            _entry("EXPIRE1", expires=soon),
            _entry("IMMIG01", category="immigration-violator"),
        ],
        now=NOW,
    )
    later = soon + dt.timedelta(minutes=1)
    assert len(hotlists.entries(now=NOW)) == 3
    assert len(hotlists.entries(STOLEN, now=later)) == 2
    allowed = hotlists.entries(now=NOW, categories={"stolen-vehicle"})
    assert {e.plate_lookup for e in allowed} == {b.tag("7ABC123"), b.tag("EXPIRE1")}
    assert len(hotlists.with_lookup(b.tag("EXPIRE1"), now=NOW)) == 1
    assert hotlists.with_lookup(b.tag("EXPIRE1"), now=later) == []
    assert hotlists.purge_expired(later) == 1
    assert len(hotlists.entries()) == 2
    hotlists.delete(STOLEN)  # entries go with their list
    assert hotlists.entries() == []


def test_the_revision_changes_with_every_import_deletion_and_expiry(
    hotlists: HotlistRepository,
) -> None:
    empty = hotlists.revision(now=NOW)
    assert empty == (0, None, None)
    hotlists.add_entries(STOLEN, [_entry("7ABC123")], now=NOW)
    one = hotlists.revision(now=NOW)
    assert one != empty
    assert hotlists.revision(now=NOW) == one, "unchanged entries, unchanged revision"
    hotlists.add_entries(STOLEN, [_entry("7ABC123")], now=NOW + dt.timedelta(minutes=1))
    assert hotlists.revision(now=NOW) == one, "a re-run import adds nothing"
    short = _entry("8XYZ999", expires=NOW + dt.timedelta(hours=1))
    hotlists.add_entries(STOLEN, [short], now=NOW + dt.timedelta(minutes=2))
    two = hotlists.revision(now=NOW)
    assert two not in (one, empty)
    assert hotlists.revision(now=NOW + dt.timedelta(hours=2)) != two, "an expiry shows"
    hotlists.delete(STOLEN)
    assert hotlists.revision(now=NOW) == empty
