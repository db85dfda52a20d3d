"""Real-time alerts: this node's hotlist matched against a peer's index as it arrives.

For each active agreement that allows alerts (this node requester), the watcher keeps
the peer's index stream open (``StreamIndex``, resumed from the highest sequence held, so
no entry is missed or taken twice) and stores every entry in the local replica. The
first time an entry of a new epoch arrives (today's or yesterday's), the watcher *arms*
that epoch: it has the peer evaluate the hotlist plates of the agreement's shared
categories (a query of kind ``alerts``, checked by the peer's policy, rate-limited and
logged on both ledgers like any query) and derives each plate's next entry id. Entries
that were already held for that epoch are sightings too. From then on an arriving entry
whose id is expected is an alert: its label opens to what the agreement lets it reveal,
and the plate's following id is expected next.

Alerts go to every subscriber (``accord alerts watch`` through the admin API) and, when
``[alerts] webhook`` is configured, are POSTed as JSON to the agency's own system. The
ledger records ``admin.action`` ``alert.raised`` for each, without the plate. A hotlist
change takes effect within a poll: the current epochs are armed for the plates added
(their sightings already held are raised then), and plates taken off raise nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from crypto.index import IndexScope, MatchKey
from node.errors import PeerUnavailableError
from node.exchange.asking import AskPlan, PeerRefusal, QueryDesk
from node.exchange.in_force import active_as
from node.exchange.labels import read_detail
from node.ids import AgreementId, Epoch, NodeId
from node.ledger.recorder import Recorder
from node.plates import matching_form
from node.policy.agreement import Agreement, QueryKind, Role
from node.sealed_reads import day_epoch
from node.store.agreements import AgreementRepository, StoredAgreement
from node.store.db import session_scope
from node.store.index import IndexRecord, PeerIndexRepository
from node.store.peers import Peer, PeerRepository

log = logging.getLogger(__name__)

ALERT_PURPOSE = "hotlist-alert"
WATCHER_USER = "alert-watcher"
_RETRY_S = (1.0, 2.0, 5.0, 10.0, 30.0)
#: After a refused or empty arming, the epoch is not armed again for this long (each
#: arming is a logged, rate-limited query at the peer).
REARM_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class WatchedPlate:
    """A hotlist entry as the watcher needs it (the plate stays in this node)."""

    plate: str
    hotlist_id: str
    case_number: str
    category: str


@dataclass(frozen=True, slots=True)
class Alert:
    peer: NodeId
    plate: str
    hotlist_id: str
    case_number: str
    category: str
    epoch: Epoch
    detail: dict[str, str]
    received_at: dt.datetime

    def to_json(self) -> dict[str, object]:
        return {
            "peer": self.peer,
            "plate": self.plate,
            "hotlist_id": self.hotlist_id,
            "case_number": self.case_number,
            "category": self.category,
            "epoch": self.epoch,
            "detail": self.detail,
            "received_at": self.received_at.isoformat(),
        }


class IndexStream(Protocol):
    def stream_index(
        self, peer: Peer, agreement_id: AgreementId, cursor: int
    ) -> AsyncIterator[list[IndexRecord]]: ...


@dataclass(slots=True)
class _Armed:
    """One epoch's watch: a match key per armed plate form, who watches each, and the
    expected next entry id of each. ``forms`` maps a matching form to its key's index; a
    plate taken off every hotlist keeps its key but is watched by nobody."""

    keys: list[MatchKey] = field(default_factory=list)
    watched: list[list[WatchedPlate]] = field(default_factory=list)
    forms: dict[str, int] = field(default_factory=dict)
    expected: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # id -> (plate, j)


@dataclass(slots=True)
class _Watch:
    """One alerting agreement's watch. ``idle`` holds the epochs that arrived while no
    hotlist plate was watched for this agreement: nothing was asked of the peer for them,
    and they are armed as soon as the hotlist gains a plate. ``lock`` keeps an arriving
    batch and a hotlist change from working on ``armed`` at once."""

    peer: Peer
    stored: StoredAgreement
    agreement: Agreement
    armed: dict[Epoch, _Armed] = field(default_factory=dict)
    idle: set[Epoch] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class AlertWatcher:
    """Watches every alerting agreement's index stream for this node's hotlist plates.

    A change of the hotlist (``hotlist_revision`` differs from the last look, every
    :attr:`poll_s` seconds) takes effect at once: the epochs already armed are armed for
    the plates added (one query of kind ``alerts`` for those plates only; sightings of them
    already held are raised), plates taken off are no longer raised, and epochs that came
    while nothing was watched are armed. Without ``hotlist_revision`` the whole hotlist is
    the revision.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        desk: QueryDesk,
        recorder: Recorder,
        stream: IndexStream,
        hotlist: Callable[[], Sequence[WatchedPlate]],
        hotlist_revision: Callable[[], object] | None = None,
        webhook: str | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sessions = sessions
        self._desk = desk
        self._recorder = recorder
        self._stream = stream
        self._hotlist = hotlist
        self._hotlist_revision = hotlist_revision or (lambda: tuple(hotlist()))
        self._webhook = webhook
        self._clock = clock
        self._subscribers: set[asyncio.Queue[Alert]] = set()
        self._tasks: dict[AgreementId, asyncio.Task[None]] = {}
        self._watches: dict[AgreementId, _Watch] = {}
        #: Alerts not delivered to a subscriber whose queue was full.
        self.dropped = 0
        #: Seconds between looks for agreements that started or ended and for hotlist
        #: changes.
        self.poll_s = 5.0
        self._wake = asyncio.Event()
        #: Epochs whose arming was refused or found the epoch expired, and when to retry.
        self._unarmed: dict[tuple[AgreementId, Epoch], dt.datetime] = {}

    # -- subscribers -----------------------------------------------------------------------

    @contextlib.contextmanager
    def subscription(self, size: int = 1000) -> Iterator[asyncio.Queue[Alert]]:
        """A queue that receives every alert raised while the block runs."""
        queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def _raise(self, alert: Alert) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(alert)
            except asyncio.QueueFull:
                self.dropped += 1
        await self._recorder.record(
            "admin.action",
            action="alert.raised",
            actor=self._recorder.actor(WATCHER_USER),
            detail=f"{alert.hotlist_id} via {alert.peer}, epoch {alert.epoch}",
        )
        if self._webhook is not None:
            await asyncio.to_thread(_post, self._webhook, alert)

    # -- watching --------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep one watch per alerting agreement, starting and ending them as agreements
        come and go, and apply hotlist changes (looked at every :attr:`poll_s` seconds)."""
        revision = await asyncio.to_thread(self._hotlist_revision)
        try:
            while True:
                wanted = await asyncio.to_thread(self._agreements)
                for agreement_id, task in list(self._tasks.items()):
                    if agreement_id not in wanted or task.done():
                        task.cancel()
                        del self._tasks[agreement_id]
                        self._watches.pop(agreement_id, None)
                for agreement_id, (peer, stored, agreement) in wanted.items():
                    if agreement_id not in self._tasks:
                        watch = _Watch(peer, stored, agreement)
                        self._watches[agreement_id] = watch
                        self._tasks[agreement_id] = asyncio.create_task(
                            self._watch(watch), name=f"alerts:{agreement_id}"
                        )
                latest = await asyncio.to_thread(self._hotlist_revision)
                if latest != revision:
                    revision = latest
                    await self._hotlist_changed()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
        finally:
            for task in self._tasks.values():
                task.cancel()

    def wake(self) -> None:
        """Look for agreements and hotlist changes now rather than at the next poll."""
        self._wake.set()

    @property
    def watching(self) -> frozenset[AgreementId]:
        """The agreements whose index streams are being watched."""
        return frozenset(a for a, t in self._tasks.items() if not t.done())

    def _agreements(self) -> dict[AgreementId, tuple[Peer, StoredAgreement, Agreement]]:
        out = {}
        with session_scope(self._sessions) as s:
            peers = PeerRepository(s)
            for stored, signed in active_as(
                AgreementRepository(s), Role.REQUESTER, kinds=frozenset({QueryKind.ALERTS})
            ):
                peer = peers.get(stored.peer_id)
                if peer is not None and peer.active:
                    out[signed.agreement.id] = (peer, stored, signed.agreement)
        return out

    async def _watch(self, watch: _Watch) -> None:
        attempt = 0
        peer, agreement_id = watch.peer, watch.agreement.id
        while True:
            try:
                cursor = await asyncio.to_thread(self._cursor, peer, agreement_id)
                async for records in self._stream.stream_index(peer, agreement_id, cursor):
                    attempt = 0
                    await asyncio.to_thread(self._hold, peer, agreement_id, records)
                    async with watch.lock:
                        for record in records:
                            await self._consider(watch, record)
            except asyncio.CancelledError:
                raise
            except (PeerUnavailableError, PeerRefusal) as e:
                log.info("alert stream of %s from %s interrupted: %s", agreement_id, peer.name, e)
            except Exception:
                log.exception("alert stream of %s from %s failed", agreement_id, peer.name)
            await asyncio.sleep(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
            attempt += 1

    async def _hotlist_changed(self) -> None:
        """Bring every watch's current epochs to the hotlist as it is now."""
        oldest = day_epoch(self._clock()) - 1
        hotlist = await asyncio.to_thread(self._hotlist)  # opened once for every watch
        for watch in list(self._watches.values()):
            async with watch.lock:
                for epoch in sorted(set(watch.armed) | watch.idle):
                    if epoch < oldest:
                        watch.armed.pop(epoch, None)
                        watch.idle.discard(epoch)
                        continue
                    watch.idle.discard(epoch)
                    self._unarmed.pop((watch.agreement.id, epoch), None)
                    try:
                        await self._arm(watch, epoch, hotlist)
                    except PeerUnavailableError as e:
                        # Left as it was: the next entry of the epoch arms it.
                        log.info("re-arming alerts of %s failed: %s", watch.agreement.id, e)
                    except Exception:
                        log.exception("re-arming alerts of %s failed", watch.agreement.id)

    async def _consider(self, watch: _Watch, record: IndexRecord) -> None:
        epoch = record.epoch
        if epoch < day_epoch(self._clock()) - 1:
            return  # history: kept for hit queries, too old to alert on
        if epoch not in watch.armed:
            if epoch in watch.idle:
                return  # nothing is watched: a hotlist change arms it
            not_before = self._unarmed.get((watch.agreement.id, epoch))
            if not_before is not None and self._clock() < not_before:
                return  # arming failed a moment ago: do not ask again for every entry
            await self._arm(watch, epoch)
            if epoch not in watch.armed:
                return
        armed = watch.armed[epoch]
        hit = armed.expected.pop(record.entry_id, None)
        if hit is None:
            return  # not watched, or among the entries held already and raised when armed
        i, j = hit
        await self._alert(watch, armed, i, j, record)

    @staticmethod
    def _wanted(
        agreement: Agreement, hotlist: Sequence[WatchedPlate]
    ) -> dict[str, list[WatchedPlate]]:
        """The hotlist plates this agreement shares, by matching form."""
        plates: dict[str, list[WatchedPlate]] = {}
        for w in hotlist:
            if w.category in agreement.alert_categories:
                with contextlib.suppress(ValueError):
                    form = matching_form(w.plate, fold=agreement.confusable_folding)
                    plates.setdefault(form, []).append(w)
        return plates

    async def _arm(
        self, watch: _Watch, epoch: Epoch, hotlist: Sequence[WatchedPlate] | None = None
    ) -> None:
        """Arm ``epoch`` for the plates the hotlist holds and the epoch does not watch yet
        (all of them the first time), and raise their sightings already held. ``hotlist``
        is the hotlist already opened, when the caller has it.

        Plates armed before keep their keys; their watchers are brought up to date (a
        plate taken off the hotlists is watched by nobody, so raises nothing). An epoch
        with nothing to arm becomes idle; a refusal, or an epoch already expired at the
        peer, is not asked again for :data:`REARM_AFTER`.
        """
        agreement = watch.agreement
        if hotlist is None:
            hotlist = await asyncio.to_thread(self._hotlist)
        wanted = self._wanted(agreement, hotlist)
        armed = watch.armed.get(epoch)
        if armed is not None:
            for form, i in armed.forms.items():
                armed.watched[i] = wanted.pop(form, [])
        if not wanted:
            if armed is None:
                watch.idle.add(epoch)
            return
        plan = AskPlan(
            watch.peer,
            watch.stored,
            agreement,
            {p: [w.plate for w in ws] for p, ws in wanted.items()},
        )
        categories = tuple(sorted({w.category for ws in wanted.values() for w in ws}))
        try:
            evaluated = await self._desk.evaluate(
                plan,
                purpose=ALERT_PURPOSE,
                case_number="",
                epochs=(epoch,),
                user=WATCHER_USER,
                kind=QueryKind.ALERTS,
                categories=categories,
            )
        except PeerRefusal as e:
            log.warning(
                "%s refused to arm alerts for %s: %s %s",
                watch.peer.name,
                agreement.id,
                e.code,
                e.rule_ids,
            )
            self._unarmed[(agreement.id, epoch)] = self._clock() + REARM_AFTER
            return
        outputs = evaluated.outputs.get(epoch)
        if outputs is None:  # the epoch expired at the peer
            self._unarmed[(agreement.id, epoch)] = self._clock() + REARM_AFTER
            return
        if armed is None:
            armed = watch.armed[epoch] = _Armed()
        scope = IndexScope(agreement.id, epoch).encode()
        earlier = 0
        for (form, watchers), y in zip(wanted.items(), outputs, strict=True):
            i = len(armed.keys)
            key = MatchKey.from_oprf_output(y)
            armed.keys.append(key)
            armed.watched.append(watchers)
            armed.forms[form] = i
            j = 0
            while True:
                entry_id = key.entry_id(scope, j)
                held = await asyncio.to_thread(
                    self._held, watch.peer, agreement.id, epoch, entry_id
                )
                if held is None:
                    armed.expected[entry_id] = (i, j)
                    break
                await self._alert(watch, armed, i, j, held, advance=False)
                earlier += 1
                j += 1
        await self._desk.record_answer(evaluated, hits=earlier)

    async def _alert(
        self,
        watch: _Watch,
        armed: _Armed,
        i: int,
        j: int,
        record: IndexRecord,
        *,
        advance: bool = True,
    ) -> None:
        scope = IndexScope(watch.agreement.id, record.epoch).encode()
        key = armed.keys[i]
        detail = read_detail(key.open_label(scope, record.entry_id, record.label))
        if advance:
            armed.expected[key.entry_id(scope, j + 1)] = (i, j + 1)
        now = self._clock()
        for w in armed.watched[i]:
            await self._raise(
                Alert(
                    watch.peer.node_id,
                    w.plate,
                    w.hotlist_id,
                    w.case_number,
                    w.category,
                    record.epoch,
                    detail,
                    now,
                )
            )

    # -- the replica -----------------------------------------------------------------------

    def _cursor(self, peer: Peer, agreement_id: AgreementId) -> int:
        with session_scope(self._sessions) as s:
            return PeerIndexRepository(s).cursor(peer.node_id, agreement_id)

    def _hold(self, peer: Peer, agreement_id: AgreementId, records: list[IndexRecord]) -> None:
        with session_scope(self._sessions) as s:
            PeerIndexRepository(s).add(peer.node_id, agreement_id, records)

    def _held(
        self, peer: Peer, agreement_id: AgreementId, epoch: Epoch, entry_id: bytes
    ) -> IndexRecord | None:
        with session_scope(self._sessions) as s:
            held = PeerIndexRepository(s).find(peer.node_id, agreement_id, epoch, [entry_id])
            return held.get(entry_id)


def _post(url: str, alert: Alert) -> None:
    """POST one alert as JSON; a failing webhook is logged, never fatal."""
    body = json.dumps(alert.to_json()).encode()
    request = urllib.request.Request(  # noqa: S310 - the admin configures an http(s) URL
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
    except OSError as e:
        log.warning("alert webhook %s failed: %s", url.split("?")[0], e)
