"""The responder's indexer: new reads become encrypted index entries, per agreement.

For every active agreement in which this node answers (hit queries, index streams or
alerts), the indexer takes the reads stored since it last ran, in id order, and for each
read in the agreement's scope (from ``window_days`` before the agreement's start to its
end) computes, under the VOPRF key of the read's epoch::

    y      = F(k_epoch, plate in the agreement's matching form)      (one batch per epoch)
    entry  = (id = PRF(tag(y), scope || j), label = AEAD(key(y), detail))

where ``j`` counts the plate's earlier entries in that (agreement, epoch) and ``detail``
is what the agreement's label detail allows (:mod:`node.exchange.labels`). Entries of
the same plate share nothing visible. The entries of a batch and the indexer's progress
are stored in one transaction; a crash re-indexes from the last committed read.

There MUST be one indexer per node: occurrence numbers and stream sequences rely on it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from crypto.at_rest import plate_lookup
from crypto.index import IndexScope, entry_for_output
from crypto.oprf import evaluate_batch
from node.exchange.epoch_keys import EpochKeys
from node.exchange.in_force import active_as
from node.exchange.labels import ReadFacts, label_detail
from node.ids import CameraId, Epoch
from node.plates import matching_form, oprf_input
from node.policy.agreement import Agreement, QueryKind, Role
from node.sealed_reads import ReadView, SealedReads, day_epoch
from node.store.agreements import AgreementRepository, OprfEpochKey
from node.store.cameras import Camera, CameraRepository
from node.store.db import session_scope
from node.store.index import IndexRepository
from node.store.reads import Read

log = logging.getLogger(__name__)

SHARING_KINDS = frozenset({QueryKind.HIT_QUERY, QueryKind.INDEX_STREAM, QueryKind.ALERTS})


@dataclass(frozen=True, slots=True)
class _Batch:
    last_id: int
    reads: list[ReadView]


class Indexer:
    """Indexes this node's reads for the agreements that share them."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lookup_key: bytes,
        epoch_keys: EpochKeys,
        node_name: str,
        city: str,
        batch_size: int = 2000,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sessions = sessions
        self._lookup_key = lookup_key
        self._keys = epoch_keys
        self._node = node_name
        self._city = city
        self._batch = batch_size
        self._clock = clock
        self._lock = asyncio.Lock()
        #: Set whenever entries were added: index streams wait on it.
        self.changed = asyncio.Condition()

    async def run_once(self) -> int:
        """Index every read not indexed yet; returns the number of entries made."""
        made = 0
        async with self._lock:
            agreements = await asyncio.to_thread(self._agreements)
            for agreement in agreements:
                while True:
                    batch = await asyncio.to_thread(self._pending, agreement)
                    if batch is None:
                        break
                    epochs = {day_epoch(r.time) for r in batch.reads}
                    keys = await self._keys.ensure(agreement.id, epochs)
                    made += await asyncio.to_thread(self._index, agreement, batch, keys)
        if made:
            async with self.changed:
                self.changed.notify_all()
        return made

    async def run(self, interval: float = 1.0) -> None:
        """Index forever, every ``interval`` seconds (a node's background task)."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("indexing failed; retrying")
            await asyncio.sleep(interval)

    def _agreements(self) -> list[Agreement]:
        with session_scope(self._sessions) as s:
            pairs = active_as(AgreementRepository(s), Role.RESPONDER, kinds=SHARING_KINDS)
        return [signed.agreement for _, signed in pairs]

    def _pending(self, agreement: Agreement) -> _Batch | None:
        with session_scope(self._sessions) as s:
            start = IndexRepository(s).progress(agreement.id)
            found = SealedReads(s, self._lookup_key).after_id(start, limit=self._batch)
        if not found:
            return None
        opened = [view for read, view in found if view is not None and _in_scope(read, agreement)]
        return _Batch(found[-1][0].id, opened)

    def _index(self, agreement: Agreement, batch: _Batch, keys: dict[Epoch, OprfEpochKey]) -> int:
        by_epoch: dict[Epoch, list[tuple[ReadView, str]]] = defaultdict(list)
        for view in batch.reads:
            epoch = day_epoch(view.time)
            if keys[epoch].secret is None:
                continue  # expired: its key is gone, nothing may be matched in it
            try:
                plate = matching_form(view.text, fold=agreement.confusable_folding)
            except ValueError:
                continue
            by_epoch[epoch].append((view, plate))
        made = 0
        now = self._clock()
        with session_scope(self._sessions) as s:
            cameras = {c.id: c for c in CameraRepository(s).all()}
            index = IndexRepository(s)
            for epoch, items in sorted(by_epoch.items()):
                secret = keys[epoch].secret
                assert secret is not None
                scope = IndexScope(agreement.id, epoch).encode()
                lookups = [plate_lookup(self._lookup_key, plate) for _, plate in items]
                occurrences = index.claim_occurrences(agreement.id, epoch, lookups)
                outputs = evaluate_batch(secret, [oprf_input(plate) for _, plate in items])
                level = agreement.label_detail
                entries = [
                    (
                        epoch,
                        *entry_for_output(
                            y, scope, j, label_detail(self._facts(v, cameras), level)
                        ),
                    )
                    for (v, _), j, y in zip(items, occurrences, outputs, strict=True)
                ]
                index.add_entries(agreement.id, entries)
                made += len(entries)
            index.set_progress(agreement.id, batch.last_id, now=now)
        return made

    def _facts(self, view: ReadView, cameras: dict[CameraId, Camera]) -> ReadFacts:
        camera = cameras.get(view.camera_id)
        return ReadFacts(
            time=view.time,
            city=self._city,
            camera=camera.name if camera else view.camera_id,
            lat=camera.lat if camera else 0.0,
            lon=camera.lon if camera else 0.0,
            image=f"accord:{self._node}/reads/{view.id}",
        )


def _in_scope(read: Read, agreement: Agreement) -> bool:
    start = agreement.valid_from - dt.timedelta(days=agreement.window_days)
    return start <= read.time < agreement.valid_until
