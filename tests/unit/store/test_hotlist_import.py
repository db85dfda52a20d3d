"""Hotlist imports into the store: sealed plates, dedup, expiry, categories, opening."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from crypto.at_rest import open_sealed, plate_lookup
from crypto.errors import AtRestError
from node.hotlists.errors import HotlistError
from node.hotlists.items import HotlistItem
from node.hotlists.parse import parse_csv_hotlist
from node.hotlists.store import (
    ActiveEntry,
    ImportResult,
    active_entries,
    entry_record,
    hotlist_id,
    import_hotlist,
    list_hotlists,
)
from node.ids import HotlistId
from node.ingest.observed import Skip
from node.sealed_reads import day_epoch
from node.store.db import session_scope
from node.store.epochs import DataClass, DataEpochRepository
from node.store.hotlists import HotlistRepository
from tests.unit.store.conftest import NOW

KEY = bytes(range(32))
STOLEN = HotlistId("ncic-stolen")
LATER = NOW + dt.timedelta(days=30)
PLATES = ("7ABC123", "8XYZ999", "4IMM001")


def item(plate: str, case: str = "24-00123", **overrides: object) -> HotlistItem:
    fields: dict[str, object] = {
        "plate": plate,
        "case_number": case,
        "reason": "stolen vehicle",
        "category": "stolen-vehicle",
        "expires": LATER,
        "state": "CA",
        "ori": "CA0194200",
    }
    fields.update(overrides)
    return HotlistItem(**fields)  # type: ignore[arg-type]


ITEMS = (
    item(PLATES[0]),
    item(PLATES[1], expires=NOW + dt.timedelta(hours=2)),
    item(PLATES[2], "24-00999", category="immigration-violator", state=None, ori=None),
)


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions whose commits are savepoints of one transaction rolled back at the end."""
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield sessionmaker(bind=conn, join_transaction_mode="create_savepoint")
        finally:
            outer.rollback()


def load(
    sessions: sessionmaker[Session],
    items: tuple[HotlistItem | Skip, ...] = ITEMS,
    *,
    name: str | None = "NCIC stolen vehicles",
    batch_size: int = 500,
) -> ImportResult:
    return import_hotlist(
        sessions,
        STOLEN,
        name=name,
        source="NCIC",
        items=items,
        lookup_key=KEY,
        now=NOW,
        batch_size=batch_size,
    )


def opened(
    sessions: sessionmaker[Session],
    *,
    now: dt.datetime,
    categories: set[str] | None = None,
    list_id: HotlistId | None = None,
) -> list[ActiveEntry]:
    with session_scope(sessions) as s:
        return active_entries(s, now=now, categories=categories, list_id=list_id)


def test_import_creates_the_list_and_round_trips_every_field(
    sessions: sessionmaker[Session],
) -> None:
    result = load(sessions)
    assert dataclasses.astuple(result) == (
        True,
        3,
        0,
        (),
        {"stolen-vehicle": 2, "immigration-violator": 1},
    )
    entries = opened(sessions, now=NOW)
    assert [(e.plate, e.case_number, e.category) for e in entries] == [
        (i.plate, i.case_number, i.category) for i in ITEMS
    ]
    first = entries[0]
    assert (first.reason, first.expires, first.state, first.ori) == (
        "stolen vehicle",
        LATER,
        "CA",
        "CA0194200",
    )
    assert (entries[2].state, entries[2].ori) == (None, None)
    assert first.plate_lookup == plate_lookup(KEY, PLATES[0])
    assert PLATES[0] not in repr(first)
    assert first.plate_lookup.hex() not in repr(first)


def test_plates_are_sealed_under_the_expiry_day_and_appear_in_no_column(
    sessions: sessionmaker[Session],
) -> None:
    load(sessions)
    with session_scope(sessions) as s:
        rows = s.execute(text("SELECT * FROM hotlist_entries")).mappings().all()
        lists = s.execute(text("SELECT * FROM hotlists")).mappings().all()
        stored = HotlistRepository(s).entries(STOLEN)
        epochs = DataEpochRepository(s)
        keys = {e.epoch: e.key for e in epochs.live(DataClass.HOTLISTS)}
    assert len(rows) == 3
    for row in [*rows, *lists]:
        for value in row.values():
            for plate in PLATES:
                if isinstance(value, bytes):
                    assert plate.encode() not in value
                else:
                    assert plate not in str(value)
    for entry, source in zip(stored, ITEMS, strict=True):
        assert entry.data_class is DataClass.HOTLISTS
        assert entry.epoch == day_epoch(source.expires)
        key = keys[entry.epoch]
        assert key is not None
        record = entry_record(STOLEN, entry.plate_lookup, entry.case_number)
        assert source.plate not in record
        sealed = entry.plate_ciphertext
        assert open_sealed(key, b"plate", "hotlists", entry.epoch, record, sealed) == (
            source.plate.encode()
        )


def test_reimports_and_repeats_are_held_once_and_other_cases_are_new(
    sessions: sessionmaker[Session],
) -> None:
    load(sessions)
    again = load(sessions, (*ITEMS, ITEMS[0], item(PLATES[0], "24-55555")), name=None)
    assert (again.created, again.stored, again.already_held) == (False, 1, 4)
    # In batches of two, a plate repeated across batches is still stored once.
    with session_scope(sessions) as s:
        HotlistRepository(s).delete(STOLEN)
    batched = load(sessions, (*ITEMS, ITEMS[0], ITEMS[1]), batch_size=2)
    assert (batched.stored, batched.already_held) == (3, 2)
    assert len(opened(sessions, now=NOW)) == 3


def test_skips_pass_through_and_expired_rows_are_never_stored(
    sessions: sessionmaker[Session],
) -> None:
    csv_text = (
        "LIC,OCA,CATEGORY,REASON,EXPIRY\n"
        "7ABC123,24-1,stolen-vehicle,stolen,2025-12-31\n"
        "8XYZ999,24-2,stolen-vehicle,stolen,2025-03-13\n"
        "9AAA111,,stolen-vehicle,stolen,2025-12-31\n"
    )
    result = load(sessions, tuple(parse_csv_hotlist(csv_text, now=NOW)))
    assert result.stored == 1
    assert [s.where for s in result.skips] == ["row 3", "row 4"]
    assert [e.plate for e in opened(sessions, now=NOW)] == ["7ABC123"]


def test_active_entries_filter_by_time_category_list_and_live_key(
    sessions: sessionmaker[Session],
) -> None:
    load(sessions)
    later = NOW + dt.timedelta(days=1)
    assert [e.plate for e in opened(sessions, now=later)] == [PLATES[0], PLATES[2]]
    allowed = opened(sessions, now=NOW, categories={"stolen-vehicle"})
    assert [e.plate for e in allowed] == [PLATES[0], PLATES[1]]
    assert opened(sessions, now=NOW, categories=set()) == []
    assert opened(sessions, now=NOW, list_id=HotlistId("other")) == []
    # An epoch whose key retention destroyed cannot be read: its entries are left out.
    with session_scope(sessions) as s:
        DataEpochRepository(s).destroy(DataClass.HOTLISTS, day_epoch(LATER), now=NOW)
    assert [e.plate for e in opened(sessions, now=NOW)] == [PLATES[1]]


def test_a_plate_moved_to_another_entry_does_not_open(sessions: sessionmaker[Session]) -> None:
    same_day = (item(PLATES[0]), item(PLATES[1]))
    load(sessions, same_day)
    with session_scope(sessions) as s:
        first, second = HotlistRepository(s).entries(STOLEN)
        s.execute(
            text("UPDATE hotlist_entries SET plate_ciphertext = :c WHERE id = :i"),
            {"c": first.plate_ciphertext, "i": second.id},
        )
    with pytest.raises(AtRestError):
        opened(sessions, now=NOW)


def test_list_hotlists_counts_active_entries_per_category(
    sessions: sessionmaker[Session],
) -> None:
    load(sessions)
    with session_scope(sessions) as s:
        (summary,) = list_hotlists(s, now=NOW)
        (later,) = list_hotlists(s, now=NOW + dt.timedelta(days=1))
    assert (summary.hotlist.id, summary.hotlist.name, summary.hotlist.source) == (
        STOLEN,
        "NCIC stolen vehicles",
        "NCIC",
    )
    assert summary.categories == {"immigration-violator": 1, "stolen-vehicle": 2}
    assert summary.active == 3
    assert later.categories == {"immigration-violator": 1, "stolen-vehicle": 1}


def test_bad_ids_names_and_a_new_list_without_a_name_store_nothing(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(HotlistError, match="give a name"):
        load(sessions, name=None)
    for bad in ("NCIC", "a:b", "", "-x", "x" * 65):
        with pytest.raises(HotlistError, match="hotlist id"):
            hotlist_id(bad)
    for name in ("", " ", "a\nb", "x" * 201):
        with pytest.raises(HotlistError, match="name"):
            load(sessions, name=name)
    with session_scope(sessions) as s:
        assert HotlistRepository(s).all() == []
