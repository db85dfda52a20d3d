"""The purge: delete every expired epoch, destroy its keys, and log that it happened.

For each data class, an epoch is due once it ended more than the class's maximum age ago
(:mod:`node.retention.settings`). Each due ``(data_class, epoch)`` goes through three
steps, each durable before the next starts, so a purge stopped anywhere (a crash, a
restart) finishes when it runs again:

1. **intent**: the inventory of what will go (:meth:`RetentionRepository.inventory`) is
   counted and committed to as an RFC 9162 root, in a ``retention_purges`` row;
2. **delete**: in ONE transaction the epoch's data key is destroyed, its rows are
   deleted (reads and their crops; crops; hotlist entries) and, for reads, every
   agreement's OPRF key of the epoch is destroyed and the responder's index entries and
   the requester's replica entries of the epoch are deleted (no one can match them once
   the key is gone). Counts and root are recomputed inside that transaction, so they
   describe exactly what was deleted. SQLite's WAL is then truncated so old pages do not
   linger in the ``-wal`` file;
3. **log**: ``retention.deleted`` is appended. The ledger's size is saved first; if the
   purge stops after appending but before saving the entry's index, the next run finds
   the entry from that size on instead of appending it twice. Exactly one entry per
   ``(data_class, epoch)`` results.

The node declares the settings it applies as it starts (:meth:`Purger.declare`) and each
run declares them again if they changed: ``admin.action`` ``retention.set`` goes to the
ledger with every class's maximum age (:func:`declaration`), so auditors can check
deadlines against what the node said.

What is due, per class:

- ``reads``, ``crops``, ``hotlists``: data epochs (UTC days) that ended more than the
  class's age ago; for reads also days that only have VOPRF keys or peers' entries;
- ``held_reads``: the epoch of a hold (its number) once the hold is released, expired,
  older than the ``held_reads`` setting, or was never logged (:mod:`node.retention.holds`);
- ``query_records``: days of the daily plate counts and of the replay cache, once older
  than the class's age and at least an hour over (the replay window must have passed);
- ``received_hits``: days of peers' replicated index entries (all this node keeps of
  what peers sent: hits themselves are handed to the user and never stored), at the
  class's age or the shortest ``retention_days`` of the agreements they came under;
- ``video``: never: the node keeps no video (:data:`~node.store.retention.NOT_STORED`).

The purge MUST run inside the node process: only its single ledger sequencer may append.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crypto.entries import decode_entry
from crypto.merkle import tree_hash
from node.ids import Epoch
from node.ledger.log import LedgerLog
from node.ledger.recorder import Recorder
from node.policy.agreement import Agreement
from node.retention.settings import RetentionSettings
from node.sealed_reads import day_epoch, epoch_bounds
from node.store.agreements import AgreementRepository
from node.store.db import session_scope, truncate_wal
from node.store.epochs import DataClass, DataEpochRepository
from node.store.holds import HoldRepository
from node.store.retention import (
    NOT_STORED,
    DeclarationRepository,
    Inventory,
    PurgeIntent,
    RetentionRepository,
)

log = logging.getLogger(__name__)

ENTRY_TYPE = "retention.deleted"
_LEAF_DOMAIN = b"accord/retention/v1\n"

#: What a day's query records wait for beyond their age: the replay cache's ids must
#: outlive the clock window of the queries they belong to (5 minutes).
_REPLAY_GRACE = dt.timedelta(hours=1)
_DAY = dt.timedelta(days=1)

#: Called with a step name ("intent", "deleted", "appended") after that step is durable;
#: tests raise from it to simulate a crash there.
FailureHook = Callable[[str], None]


def commitment(inventory: Inventory) -> tuple[dict[str, int], bytes]:
    """Counts by kind, and the RFC 9162 root over the SHA-256 of each deleted record.

    Leaves are sorted, so the root does not depend on the database's row order; an empty
    epoch commits to the root of no leaves (:data:`crypto.merkle.EMPTY_ROOT`). A leaf names
    a record by its kind and identifier (a dedup key, an entry id), never by a plate.
    """
    counts = {token: len(ids) for token, ids in sorted(inventory.items())}
    leaves = sorted(
        hashlib.sha256(_LEAF_DOMAIN + token.encode() + b"\x00" + ident).digest()
        for token, ids in inventory.items()
        for ident in ids
    )
    return counts, tree_hash(leaves)


def declaration(settings: RetentionSettings) -> str:
    """The ``detail`` of ``admin.action`` ``retention.set``: every class's maximum age.

    ``retention.set jurisdiction=US-ME reads=14 held_reads=365 crops=21 video=7 ...``: a
    bare number is whole days; a number followed by ``s`` is seconds (New Hampshire's
    three minutes are ``reads=180s``). Classes appear in :class:`DataClass` order.
    """
    parts = [f"retention.set jurisdiction={settings.jurisdiction}"]
    for data_class in DataClass:
        age = settings.max_age[data_class]
        whole = age % _DAY == dt.timedelta(0)
        value = str(age // _DAY) if whole else f"{int(age.total_seconds())}s"
        parts.append(f"{data_class.value}={value}")
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Purged:
    """One epoch purged and logged."""

    data_class: DataClass
    epoch: Epoch
    counts: Mapping[str, int]
    deleted_root: bytes
    ledger_index: int


class Purger:
    """Runs the purge against one node's store and ledger."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        engine: Engine,
        ledger: LedgerLog,
        recorder: Recorder,
        settings: Callable[[], RetentionSettings],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        failure_hook: FailureHook | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        self._ledger = ledger
        self._recorder = recorder
        self._settings = settings
        self._clock = clock
        #: Tests raise from it to simulate a crash after a step (see :data:`FailureHook`).
        self.failure_hook = failure_hook
        #: Held while purging; holds are added and released under it too.
        self.lock = asyncio.Lock()

    async def run_once(self) -> list[Purged]:
        """Declare the settings if they changed, finish interrupted purges, then purge
        every epoch now due; returns what was logged."""
        async with self.lock:
            settings = self._settings()
            now = self._clock()
            await self._declare(settings, now)
            done = []
            unfinished = await asyncio.to_thread(self._unfinished)
            for intent in unfinished:
                done.append(await self._finish(intent))
            for data_class in DataClass:
                if data_class in NOT_STORED:
                    continue
                due = await asyncio.to_thread(self._due, data_class, settings, now)
                for epoch in due:
                    intent = await asyncio.to_thread(self._start, data_class, epoch)
                    self._step("intent")
                    done.append(await self._finish(intent))
            return done

    async def declare(self) -> None:
        """Declare the settings now if they changed (the node calls it as it starts, so a
        fresh node's defaults are on its ledger before it serves anything)."""
        async with self.lock:
            await self._declare(self._settings(), self._clock())

    async def _declare(self, settings: RetentionSettings, now: dt.datetime) -> None:
        """Log ``retention.set`` unless these settings are the last ones declared.

        If the node stops after appending but before saving, the next run declares the
        same settings again: a repeated declaration, never a missing one.
        """
        detail = declaration(settings)
        if await asyncio.to_thread(self._latest_declaration) == detail:
            return
        index = await self._recorder.record(
            "admin.action",
            action="retention.set",
            actor=self._recorder.actor("system"),
            detail=detail,
        )
        await asyncio.to_thread(self._save_declaration, detail, index, now)
        log.info("declared retention settings: %s", detail)

    def _latest_declaration(self) -> str | None:
        with session_scope(self._sessions) as s:
            return DeclarationRepository(s).latest()

    def _save_declaration(self, detail: str, index: int, now: dt.datetime) -> None:
        with session_scope(self._sessions) as s:
            DeclarationRepository(s).add(detail, ledger_index=index, now=now)

    # -- steps ---------------------------------------------------------------------------

    async def _finish(self, intent: PurgeIntent) -> Purged:
        if intent.deleted_at is None:
            intent = await asyncio.to_thread(self._delete, intent)
            await asyncio.to_thread(truncate_wal, self._engine)
            self._step("deleted")
        index = intent.ledger_index
        if index is None and intent.ledger_from is not None:
            index = await asyncio.to_thread(self._find_logged, intent)
        if index is None:
            size = self._ledger.head.size
            await asyncio.to_thread(self._set_ledger_from, intent, size)
            index = await self._recorder.record(
                ENTRY_TYPE,
                data_class=intent.data_class.value,
                epoch=intent.epoch,
                counts=dict(intent.counts),
                deleted_root=intent.deleted_root.hex(),
            )
            self._step("appended")
        await asyncio.to_thread(self._mark_recorded, intent, index)
        log.info("purged %s epoch %d: %s", intent.data_class, intent.epoch, dict(intent.counts))
        return Purged(intent.data_class, intent.epoch, intent.counts, intent.deleted_root, index)

    def _step(self, name: str) -> None:
        if self.failure_hook is not None:
            self.failure_hook(name)

    def _unfinished(self) -> list[PurgeIntent]:
        with session_scope(self._sessions) as s:
            return RetentionRepository(s).unfinished()

    def _due(
        self, data_class: DataClass, settings: RetentionSettings, now: dt.datetime
    ) -> list[Epoch]:
        """Epochs of ``data_class`` due now that have no purge yet."""
        max_age = settings.max_age[data_class]
        cutoff = now - max_age
        with session_scope(self._sessions) as s:
            repo = RetentionRepository(s)
            if data_class is DataClass.HELD_READS:
                epochs = set(HoldRepository(s).due(now=now, created_before=cutoff))
            elif data_class is DataClass.QUERY_RECORDS:
                latest = min(cutoff, now - _REPLAY_GRACE)
                epochs = set(repo.query_record_days(ended_by=day_epoch(latest)))
            elif data_class is DataClass.RECEIVED_HITS:
                epochs = self._received_due(s, max_age, now)
            else:
                found = DataEpochRepository(s).ended_before(data_class, cutoff)
                epochs = {e.epoch for e in found}
                if data_class is DataClass.READS:
                    # A UTC-day epoch e has ended by the cutoff when e + 1 <= day(cutoff).
                    epochs.update(repo.indexed_epochs(ended_by=day_epoch(cutoff)))
            return sorted(e for e in epochs if repo.get(data_class, e) is None)

    @staticmethod
    def _received_due(s: Session, max_age: dt.timedelta, now: dt.datetime) -> set[Epoch]:
        """Days of peers' entries past the class's age or their agreements' shortest rule.

        An agreement this node no longer knows authorises nothing: its entries are due.
        """
        received = RetentionRepository(s).received_epochs(ended_by=day_epoch(now))
        if not received:
            return set()
        rules: dict[str, list[int]] = {}
        for v in AgreementRepository(s).find():
            terms = Agreement.from_canonical_bytes(v.document)
            rules.setdefault(v.id, []).append(terms.retention_days)
        days = {a: min(rules.get(a, [0])) * _DAY for ids in received.values() for a in ids}
        due = set()
        for epoch, ids in received.items():
            kept = min([max_age, *(days[a] for a in ids)])
            if epoch_bounds(epoch)[1] + kept <= now:
                due.add(epoch)
        return due

    def _start(self, data_class: DataClass, epoch: Epoch) -> PurgeIntent:
        with session_scope(self._sessions) as s:
            repo = RetentionRepository(s)
            counts, root = commitment(repo.inventory(data_class, epoch))
            return repo.start(
                data_class, epoch, counts=counts, deleted_root=root, now=self._clock()
            )

    def _delete(self, intent: PurgeIntent) -> PurgeIntent:
        now = self._clock()
        with session_scope(self._sessions) as s:
            repo = RetentionRepository(s)
            counts, root = commitment(repo.inventory(intent.data_class, intent.epoch))
            repo.delete(intent.data_class, intent.epoch, now=now)
            repo.mark_deleted(
                intent.data_class, intent.epoch, counts=counts, deleted_root=root, now=now
            )
            found = repo.get(intent.data_class, intent.epoch)
        assert found is not None
        return found

    def _set_ledger_from(self, intent: PurgeIntent, size: int) -> None:
        with session_scope(self._sessions) as s:
            RetentionRepository(s).set_ledger_from(intent.data_class, intent.epoch, size)

    def _mark_recorded(self, intent: PurgeIntent, index: int) -> None:
        with session_scope(self._sessions) as s:
            RetentionRepository(s).mark_recorded(intent.data_class, intent.epoch, index)

    def _find_logged(self, intent: PurgeIntent) -> int | None:
        """The index of this purge's entry if an earlier run appended it, else ``None``."""
        assert intent.ledger_from is not None
        end = self._ledger.head.size
        for stored in self._ledger.entries(intent.ledger_from, end):
            entry = decode_entry(stored.entry)
            if (
                entry.type == ENTRY_TYPE
                and entry.fields.get("data_class") == intent.data_class.value
                and entry.fields.get("epoch") == intent.epoch
            ):
                return stored.index
        return None


async def purge_hourly(purger: Purger, *, interval_s: float = 3600.0) -> None:
    """Purge now, then every ``interval_s``; a failed run is logged and retried next time."""
    while True:
        try:
            await purger.run_once()
        except Exception:
            log.exception("the retention purge failed; it resumes at the next run")
        await asyncio.sleep(interval_s)
