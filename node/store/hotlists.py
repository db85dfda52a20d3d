"""Hotlists: plates this node looks out for, each entry tied to a case.

Every entry needs a case number, a reason, a category (legal profiles can exclude a
category from matching and sharing) and an expiry; the plate is sealed under a
``(data_class, epoch)`` key like a read's, with a keyed ``plate_lookup`` tag.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from node.ids import Epoch, HotlistEntryId, HotlistId
from node.store.db import insert_ignoring_duplicates, rowcount, translate_errors
from node.store.epochs import DataClass, require_live
from node.store.errors import NotFoundError
from node.store.models import HotlistEntryRow, HotlistRow


@dataclass(frozen=True, slots=True)
class Hotlist:
    id: HotlistId
    name: str
    source: str
    created: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NewHotlistEntry:
    """An entry to add. ``region`` is the plate's issuing state (NCIC ``LIS``), ``ori``
    the agency that entered it."""

    epoch: Epoch
    plate_ciphertext: bytes
    plate_lookup: bytes
    case_number: str
    reason: str
    category: str
    expires: dt.datetime
    data_class: DataClass = DataClass.HOTLISTS
    region: str | None = None
    ori: str | None = None

    def __post_init__(self) -> None:
        for field in ("case_number", "reason", "category"):
            if not getattr(self, field).strip():
                raise ValueError(f"a hotlist entry needs a {field.replace('_', ' ')}")
        if len(self.plate_lookup) != 32:
            raise ValueError("plate_lookup must be a 32-byte keyed tag")
        if self.expires.tzinfo is None:
            raise ValueError("expires must be timezone-aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class HotlistEntry:
    id: HotlistEntryId
    hotlist_id: HotlistId
    data_class: DataClass
    epoch: Epoch
    plate_ciphertext: bytes
    plate_lookup: bytes
    region: str | None
    case_number: str
    reason: str
    category: str
    ori: str | None
    expires: dt.datetime
    added: dt.datetime


def _entry(row: HotlistEntryRow) -> HotlistEntry:
    return HotlistEntry(
        id=HotlistEntryId(row.id),
        hotlist_id=HotlistId(row.hotlist_id),
        data_class=DataClass(row.data_class),
        epoch=Epoch(row.epoch),
        plate_ciphertext=row.plate_ciphertext,
        plate_lookup=row.plate_lookup,
        region=row.region,
        case_number=row.case_number,
        reason=row.reason,
        category=row.category,
        ori=row.ori,
        expires=row.expires,
        added=row.added,
    )


def _hotlist(row: HotlistRow) -> Hotlist:
    return Hotlist(HotlistId(row.id), row.name, row.source, row.created)


class HotlistRepository:
    """Hotlists and their entries."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def create(self, hotlist: Hotlist) -> Hotlist:
        """Add a hotlist. Raises :class:`DuplicateError` for a known id."""
        row = HotlistRow(
            id=hotlist.id, name=hotlist.name, source=hotlist.source, created=hotlist.created
        )
        with translate_errors(self._session):
            self._session.add(row)
            self._session.flush()
        return _hotlist(row)

    def get(self, hotlist_id: HotlistId) -> Hotlist | None:
        with translate_errors(self._session):
            row = self._session.get(HotlistRow, hotlist_id)
        return None if row is None else _hotlist(row)

    def all(self) -> list[Hotlist]:
        with translate_errors(self._session):
            return [_hotlist(r) for r in self._session.scalars(select(HotlistRow).order_by("id"))]

    def delete(self, hotlist_id: HotlistId) -> None:
        """Delete a hotlist and all its entries."""
        with translate_errors(self._session):
            result = self._session.execute(
                delete(HotlistRow).where(HotlistRow.id == hotlist_id),
                execution_options={"synchronize_session": False},
            )
        if rowcount(result) == 0:
            raise NotFoundError(f"no hotlist {hotlist_id}")

    def add_entries(
        self, hotlist_id: HotlistId, entries: Sequence[NewHotlistEntry], *, now: dt.datetime
    ) -> int:
        """Add entries, skipping any already on the list for the same plate and case
        (a re-run import). Returns how many were added."""
        if not entries:
            return 0
        require_live(self._session, {(e.data_class.value, int(e.epoch)) for e in entries})
        rows: list[dict[str, Any]] = [
            {
                "hotlist_id": hotlist_id,
                "data_class": e.data_class.value,
                "epoch": e.epoch,
                "plate_ciphertext": e.plate_ciphertext,
                "plate_lookup": e.plate_lookup,
                "region": e.region,
                "case_number": e.case_number,
                "reason": e.reason,
                "category": e.category,
                "ori": e.ori,
                "expires": e.expires,
                "added": now,
            }
            for e in entries
        ]
        stmt = insert_ignoring_duplicates(
            self._session, HotlistEntryRow, ("hotlist_id", "plate_lookup", "case_number")
        ).returning(HotlistEntryRow.id)
        with translate_errors(self._session):
            return len(self._session.execute(stmt, rows).all())

    def entries(
        self,
        hotlist_id: HotlistId | None = None,
        *,
        now: dt.datetime | None = None,
        categories: Collection[str] | None = None,
    ) -> list[HotlistEntry]:
        """Entries of one hotlist (or all), unexpired at ``now`` if given, optionally only
        of some ``categories``; in id order."""
        stmt = select(HotlistEntryRow)
        if hotlist_id is not None:
            stmt = stmt.where(HotlistEntryRow.hotlist_id == hotlist_id)
        if now is not None:
            stmt = stmt.where(HotlistEntryRow.expires > now)
        if categories is not None:
            stmt = stmt.where(HotlistEntryRow.category.in_(list(categories)))
        with translate_errors(self._session):
            return [_entry(r) for r in self._session.scalars(stmt.order_by(HotlistEntryRow.id))]

    def category_counts(self, *, now: dt.datetime) -> dict[tuple[HotlistId, str], int]:
        """How many unexpired entries each hotlist holds per category, at ``now``.

        Counted in the database, so listing a large hotlist reads no ciphertext.
        """
        stmt = (
            select(HotlistEntryRow.hotlist_id, HotlistEntryRow.category, func.count())
            .where(HotlistEntryRow.expires > now)
            .group_by(HotlistEntryRow.hotlist_id, HotlistEntryRow.category)
        )
        with translate_errors(self._session):
            rows = self._session.execute(stmt).all()
        return {(HotlistId(h), c): int(n) for h, c, n in rows}

    def revision(self, *, now: dt.datetime) -> tuple[int, int | None, dt.datetime | None]:
        """A cheap mark that changes whenever the unexpired entries do: their count, the
        highest id and the latest time one was added (an import raises the last two, a
        deletion or an expiry lowers the count). Read without opening any ciphertext, so a
        watcher can look often at a hotlist of any size."""
        stmt = select(
            func.count(), func.max(HotlistEntryRow.id), func.max(HotlistEntryRow.added)
        ).where(HotlistEntryRow.expires > now)
        with translate_errors(self._session):
            count, highest, added = self._session.execute(stmt).one()
        return int(count), highest, added

    def with_lookup(self, plate_lookup: bytes, *, now: dt.datetime) -> list[HotlistEntry]:
        """Unexpired entries, on any hotlist, for the plate tagged ``plate_lookup``."""
        stmt = (
            select(HotlistEntryRow)
            .where(HotlistEntryRow.plate_lookup == plate_lookup)
            .where(HotlistEntryRow.expires > now)
            .order_by(HotlistEntryRow.id)
        )
        with translate_errors(self._session):
            return [_entry(r) for r in self._session.scalars(stmt)]

    def purge_expired(self, now: dt.datetime) -> int:
        """Delete entries that expired at or before ``now``; returns how many."""
        stmt = delete(HotlistEntryRow).where(HotlistEntryRow.expires <= now)
        with translate_errors(self._session):
            return rowcount(
                self._session.execute(stmt, execution_options={"synchronize_session": False})
            )
