"""Hotlist entries sealed into the store, and opened again for the node's own matching.

:mod:`node.store.hotlists` keeps only ciphertext and keyed tags; this module turns a
:class:`~node.hotlists.items.HotlistItem` into those columns and back, by the rules of
:mod:`node.sealed_reads`:

- an entry's epoch is the UTC day its expiry falls in, and its plate is sealed under that
  day's ``hotlists`` data key (created on first use). Retention destroys a key only after
  its epoch has ended, hence only once every entry sealed under it has expired;
- the plate is sealed with purpose ``b"plate"`` and bound to the entry's record name
  (:func:`entry_record`): the hotlist, the keyed lookup tag and the case number, the same
  three the store keeps unique, so a ciphertext moved to another entry does not open.
  Neither the record name nor any column holds the plate;
- ``plate_lookup`` is the node-local keyed tag (:func:`crypto.at_rest.plate_lookup`).

An import is one transaction per batch of :data:`IMPORT_BATCH` entries; an entry already
on the list for the same plate and case is not stored again, so an interrupted import is
safe to run again. Hotlists write no ledger entries: they are the node's working data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from crypto.at_rest import open_sealed, plate_lookup, seal
from node.hotlists.errors import HotlistError
from node.hotlists.items import HotlistItem
from node.ids import Epoch, HotlistEntryId, HotlistId
from node.ingest.observed import Skip
from node.sealed_reads import day_epoch, ensure_day_key
from node.store.db import session_scope
from node.store.epochs import DataClass, DataEpochRepository
from node.store.hotlists import Hotlist, HotlistEntry, HotlistRepository, NewHotlistEntry

#: Entries stored per transaction.
IMPORT_BATCH = 500
#: Hotlist ids: lower-case letters, digits, ``.``, ``_`` and ``-`` (no ``:``, which
#: separates the parts of an entry's record name).
HOTLIST_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_NAME = 200

_PLATE = b"plate"
_CLASS = DataClass.HOTLISTS


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did. ``categories`` counts the file's usable entries (stored or
    already held) per category; ``skips`` name records, never plates."""

    created: bool
    stored: int
    already_held: int
    skips: tuple[Skip, ...]
    categories: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class HotlistSummary:
    """A hotlist and its unexpired entries per category."""

    hotlist: Hotlist
    categories: Mapping[str, int]

    @property
    def active(self) -> int:
        return sum(self.categories.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveEntry:
    """An unexpired entry, opened: for this node's own matching only. It MUST NOT be sent
    to a peer; ``plate`` and ``plate_lookup`` are left out of ``repr`` so logs show neither."""

    id: HotlistEntryId
    hotlist_id: HotlistId
    plate: str = field(repr=False)
    plate_lookup: bytes = field(repr=False)
    case_number: str
    reason: str
    category: str
    expires: dt.datetime
    state: str | None
    ori: str | None


def hotlist_id(text: str) -> HotlistId:
    """``text`` as a hotlist id; raises :class:`HotlistError` unless it matches
    :data:`HOTLIST_ID_RE`."""
    if not HOTLIST_ID_RE.match(text):
        raise HotlistError(
            f"hotlist id {text!r} must be 1-64 lower-case letters, digits, '.', '_' or '-'"
        )
    return HotlistId(text)


def entry_record(list_id: HotlistId, lookup: bytes, case_number: str) -> str:
    """The name a sealed plate is bound to: no plate, and unique like the entry itself."""
    return f"hotlist:{list_id}:{lookup.hex()}:{case_number}"


def import_hotlist(
    sessions: sessionmaker[Session],
    list_id: HotlistId,
    *,
    name: str | None,
    source: str,
    items: Iterable[HotlistItem | Skip],
    lookup_key: bytes,
    now: dt.datetime,
    batch_size: int = IMPORT_BATCH,
) -> ImportResult:
    """Seal and store ``items`` on hotlist ``list_id``, creating it as ``name`` if new.

    ``name`` may be ``None`` for a hotlist that exists (its name is kept). Raises
    :class:`HotlistError` for a bad id, name or source, or a new hotlist without a name;
    nothing is stored then.
    """
    list_id = hotlist_id(list_id)
    _check_label(source, "source")
    if name is not None:
        _check_label(name, "name")
    with session_scope(sessions) as s:
        hotlists = HotlistRepository(s)
        created = hotlists.get(list_id) is None
        if created:
            if name is None:
                raise HotlistError(f"there is no hotlist {list_id}; give a name to create it")
            hotlists.create(Hotlist(list_id, name, source, now))
    stored = accepted = 0
    skips: list[Skip] = []
    categories: Counter[str] = Counter()
    batch: dict[tuple[str, str], HotlistItem] = {}  # a plate and case listed twice: once

    def flush() -> None:
        nonlocal stored
        with session_scope(sessions) as s:
            entries = _sealed(DataEpochRepository(s), list_id, batch.values(), lookup_key, now)
            stored += HotlistRepository(s).add_entries(list_id, entries, now=now)
        batch.clear()

    for item in items:
        if isinstance(item, Skip):
            skips.append(item)
            continue
        accepted += 1
        categories[item.category] += 1
        batch.setdefault((item.plate, item.case_number), item)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return ImportResult(created, stored, accepted - stored, tuple(skips), dict(categories))


def list_hotlists(session: Session, *, now: dt.datetime) -> list[HotlistSummary]:
    """Every hotlist with its unexpired entries per category at ``now``, by id."""
    hotlists = HotlistRepository(session)
    counts = hotlists.category_counts(now=now)
    return [
        HotlistSummary(h, {c: n for (i, c), n in sorted(counts.items()) if i == h.id})
        for h in hotlists.all()
    ]


def active_entries(
    session: Session,
    *,
    now: dt.datetime,
    categories: Collection[str] | None = None,
    list_id: HotlistId | None = None,
) -> list[ActiveEntry]:
    """Entries unexpired at ``now``, opened, optionally only of ``categories`` (those the
    legal profile allows, see :func:`~node.hotlists.categories.allowed_categories`) or of
    one hotlist. Entries whose epoch key was destroyed are left out: they cannot be read.

    Raises :class:`~crypto.errors.AtRestError` if a stored plate does not open (the row
    was tampered with).
    """
    epochs = DataEpochRepository(session)
    keys: dict[tuple[DataClass, Epoch], bytes | None] = {}
    found = HotlistRepository(session).entries(list_id, now=now, categories=categories)
    opened: list[ActiveEntry] = []
    for entry in found:
        at = (entry.data_class, entry.epoch)
        if at not in keys:
            epoch = epochs.get(*at)
            keys[at] = None if epoch is None else epoch.key
        key = keys[at]
        if key is not None:
            opened.append(_opened(entry, key))
    return opened


# -- sealing ------------------------------------------------------------------------------


def _sealed(
    epochs: DataEpochRepository,
    list_id: HotlistId,
    items: Iterable[HotlistItem],
    lookup_key: bytes,
    now: dt.datetime,
) -> Sequence[NewHotlistEntry]:
    keys: dict[Epoch, bytes] = {}
    entries: list[NewHotlistEntry] = []
    for item in items:
        epoch = day_epoch(item.expires)
        if epoch not in keys:
            keys[epoch] = ensure_day_key(epochs, _CLASS, epoch, now=now)
        lookup = plate_lookup(lookup_key, item.plate)
        record = entry_record(list_id, lookup, item.case_number)
        entries.append(
            NewHotlistEntry(
                epoch=epoch,
                plate_ciphertext=seal(
                    keys[epoch], _PLATE, _CLASS.value, epoch, record, item.plate.encode()
                ),
                plate_lookup=lookup,
                case_number=item.case_number,
                reason=item.reason,
                category=item.category,
                expires=item.expires,
                data_class=_CLASS,
                region=item.state,
                ori=item.ori,
            )
        )
    return entries


def _opened(entry: HotlistEntry, key: bytes) -> ActiveEntry:
    record = entry_record(entry.hotlist_id, entry.plate_lookup, entry.case_number)
    plate = open_sealed(
        key, _PLATE, entry.data_class.value, entry.epoch, record, entry.plate_ciphertext
    )
    return ActiveEntry(
        id=entry.id,
        hotlist_id=entry.hotlist_id,
        plate=plate.decode(),
        plate_lookup=entry.plate_lookup,
        case_number=entry.case_number,
        reason=entry.reason,
        category=entry.category,
        expires=entry.expires,
        state=entry.region,
        ori=entry.ori,
    )


def _check_label(value: str, what: str) -> None:
    if not value.strip() or len(value) > MAX_NAME or not value.isprintable():
        raise HotlistError(f"the hotlist {what} must be 1 to {MAX_NAME} printable characters")
