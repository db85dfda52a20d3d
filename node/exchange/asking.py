"""Asking peers for hits: blind, sign, log, send, verify, match, log.

For each peer asked, under this node's active agreement with it (this node requester):

1. plates go to the agreement's matching form and are blinded (RFC 9497 VOPRF);
2. the query body (:mod:`node.exchange.hit_query`) is signed and ``query.sent`` recorded;
3. the peer answers with evaluations per epoch, one DLEQ proof each, and a receipt;
4. the receipt must show the peer logged ``answer.sent`` for this very query; each
   epoch's public key is pinned on first use; every proof must verify;
5. the unblinded outputs give each plate's match key per epoch; the peer's index
   entries (replicated here through ``FetchIndex``) are looked up by the ids
   ``PRF(tag, scope || j)`` for ``j = 0, 1, ...`` until one is missing, and only those
   labels open;
6. ``answer.received`` is recorded with the number of hits.

Peers are asked concurrently; a peer that refuses or is down is reported as such and the
others' answers still arrive. Plates exist only in this process's memory and in the
result handed back to this node's own user: never in a log line, an error, or a ledger.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import datetime as dt
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from nacl.signing import SigningKey
from sqlalchemy.orm import Session, sessionmaker

from crypto.errors import CryptoError
from crypto.index import IndexScope, MatchKey
from crypto.oprf import Blinded, KeyedReply, blind, finalize_multi, prepare_batch
from crypto.sign import sign
from node.config import NodeConfig
from node.errors import PeerError, PeerUnavailableError
from node.exchange.answering import HitAnswer
from node.exchange.hit_query import HIT_QUERY_DOMAIN, HitQueryBody, elements_digest
from node.exchange.in_force import with_peer
from node.exchange.labels import read_detail
from node.exchange.query_errors import AnswerError
from node.exchange.receipts import verify_receipt
from node.ids import AgreementId, Epoch, NodeId, RequestId
from node.ledger.names import log_verifier
from node.ledger.recorder import Recorder
from node.plates import matching_form, oprf_input
from node.policy.agreement import Agreement, QueryKind, Role
from node.sealed_reads import day_epoch
from node.store.agreements import AgreementRepository, StoredAgreement
from node.store.db import session_scope
from node.store.index import IndexRecord, PeerIndexRepository
from node.store.peers import Peer, PeerRepository

log = logging.getLogger(__name__)

#: Most distinct plates one query may ask (each peer's agreement may allow fewer).
MAX_PLATES = 10_000


@dataclass(frozen=True, slots=True)
class PeerRefusal(Exception):  # noqa: N818 - a value carried out of the transport
    """A peer refused a call: its status code name, message and rule ids."""

    code: str
    message: str
    rule_ids: tuple[str, ...] = ()


class ExchangeTransport(Protocol):
    """How this node reaches a peer's ExchangeService (real gRPC, or a test double)."""

    async def evaluate_hits(
        self, peer: Peer, body: bytes, signature: bytes, elements: Sequence[bytes]
    ) -> HitAnswer: ...

    async def fetch_index(
        self, peer: Peer, agreement_id: AgreementId, cursor: int, limit: int
    ) -> tuple[list[IndexRecord], int, bool]: ...


@dataclass(frozen=True, slots=True)
class Hit:
    peer: NodeId
    #: The plate as this node's user typed it.
    plate: str
    epoch: Epoch
    detail: dict[str, str]


@dataclass(frozen=True, slots=True)
class PeerOutcome:
    peer: NodeId
    outcome: str  # "answered", "refused" or "unavailable"
    message: str = ""
    rule_ids: tuple[str, ...] = ()
    evaluated: int = 0
    hits: int = 0
    receipt_index: int = 0


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    hits: tuple[Hit, ...]
    answers: tuple[PeerOutcome, ...]


@dataclass(frozen=True, slots=True)
class AskPlan:
    """Whom to ask under which agreement, and the plates in the agreement's matching form
    (each with the strings the user gave for it)."""

    peer: Peer
    stored: StoredAgreement
    agreement: Agreement
    #: matching form -> the strings the user typed that map to it
    plates: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class Evaluated:
    """A query the peer evaluated and proved: OPRF outputs per epoch, plate order."""

    query: HitQueryBody
    q_commit: str
    outputs: dict[Epoch, list[bytes]]
    receipt_index: int


def blind_all(inputs: Sequence[bytes]) -> list[Blinded]:
    """Blind every input, a few slices side by side (the group operations release the
    GIL): a thousand plates are a thousand hashes to the group and scalar mults."""
    step = max(1, -(-len(inputs) // 8))
    slices = [inputs[a : a + step] for a in range(0, len(inputs), step)]
    with cf.ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
        return [b for part in pool.map(lambda xs: [blind(x) for x in xs], slices) for b in part]


class QueryDesk:
    """This node's side of hit queries (it is the requester)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        config: NodeConfig,
        signing_key: SigningKey,
        recorder: Recorder,
        transport: ExchangeTransport,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._signing_key = signing_key
        self._recorder = recorder
        self._transport = transport
        self._clock = clock

    async def query_hits(
        self,
        *,
        peers: Sequence[str],
        plates: Sequence[str],
        purpose: str,
        case_number: str,
        days: int,
        user: str,
    ) -> QueryOutcome:
        """Ask ``peers`` (all with an agreement allowing hit queries when empty)."""
        if not plates:
            raise ValueError("no plates to ask about")
        if len(plates) > MAX_PLATES:
            raise ValueError(f"{len(plates)} plates; at most {MAX_PLATES} in one query")
        if not user:
            raise ValueError("the asking user must be named")
        plans, refused = await asyncio.to_thread(self._plans, peers, plates)
        results = await asyncio.gather(
            *(self._ask(plan, purpose, case_number, days, user) for plan in plans)
        )
        hits = tuple(h for hs, _ in results for h in hs)
        answers = tuple(refused) + tuple(outcome for _, outcome in results)
        return QueryOutcome(hits, answers)

    async def sync_index(self, peer: Peer, agreement_id: AgreementId) -> int:
        """Fetch the peer's index entries for the agreement that are not held yet."""
        total = 0
        with session_scope(self._sessions) as s:
            cursor = PeerIndexRepository(s).cursor(peer.node_id, agreement_id)
        while True:
            records, next_cursor, complete = await self._transport.fetch_index(
                peer, agreement_id, cursor, 10_000
            )
            if records:
                total += await asyncio.to_thread(self._hold, peer, agreement_id, records)
            if complete or next_cursor <= cursor:
                return total
            cursor = next_cursor

    def _hold(self, peer: Peer, agreement_id: AgreementId, records: list[IndexRecord]) -> int:
        with session_scope(self._sessions) as s:
            return PeerIndexRepository(s).add(peer.node_id, agreement_id, records)

    # -- planning --------------------------------------------------------------------------

    def _plans(
        self, peers: Sequence[str], plates: Sequence[str]
    ) -> tuple[list[AskPlan], list[PeerOutcome]]:
        plans: list[AskPlan] = []
        refused: list[PeerOutcome] = []
        with session_scope(self._sessions) as s:
            repo = AgreementRepository(s)
            peer_repo = PeerRepository(s)
            names = list(dict.fromkeys(peers)) or sorted(
                {st.peer_id for st in repo.find() if st.role == Role.REQUESTER.value}
            )
            for name in names:
                peer = peer_repo.get(NodeId(name))
                found = with_peer(repo, NodeId(name), Role.REQUESTER, QueryKind.HIT_QUERY)
                if peer is None or not peer.active:
                    refused.append(PeerOutcome(NodeId(name), "refused", "not an active peer"))
                    continue
                if found is None:
                    refused.append(
                        PeerOutcome(
                            NodeId(name),
                            "refused",
                            "no active agreement with this peer allows hit queries",
                            ("agreement.id",),
                        )
                    )
                    continue
                stored, signed = found
                forms: dict[str, list[str]] = {}
                for raw in plates:
                    try:
                        form = matching_form(raw, fold=signed.agreement.confusable_folding)
                    except ValueError as e:
                        raise ValueError(f"plate {len(forms) + 1}: {e}") from None
                    forms.setdefault(form, []).append(raw)
                plans.append(AskPlan(peer, stored, signed.agreement, forms))
        return plans, refused

    # -- one peer --------------------------------------------------------------------------

    async def _ask(
        self, plan: AskPlan, purpose: str, case_number: str, days: int, user: str
    ) -> tuple[list[Hit], PeerOutcome]:
        peer = plan.peer
        today = day_epoch(self._clock())
        # The replica is brought up to date while the peer evaluates and this node
        # verifies and unblinds: the two do not depend on each other, and the crypto runs
        # on other threads. Entries the peer indexes after the fetch wait for the next query.
        sync = asyncio.create_task(self.sync_index(peer, plan.agreement.id))
        try:
            try:
                evaluated = await self.evaluate(
                    plan,
                    purpose=purpose,
                    case_number=case_number,
                    epochs=tuple(range(today - days + 1, today + 1)),
                    user=user,
                )
            except BaseException:
                sync.cancel()
                with contextlib.suppress(BaseException):
                    await sync
                raise
            await sync
            hits = await asyncio.to_thread(self._match, plan, evaluated.outputs)
        except PeerRefusal as e:
            return [], PeerOutcome(peer.node_id, "refused", e.message, e.rule_ids)
        except PeerUnavailableError as e:
            return [], PeerOutcome(peer.node_id, "unavailable", str(e))
        except (AnswerError, CryptoError, PeerError) as e:
            log.warning("answer from %s refused: %s", peer.node_id, e)
            return [], PeerOutcome(peer.node_id, "refused", f"its answer does not verify: {e}")
        await self.record_answer(evaluated, hits=len(hits))
        outcome = PeerOutcome(
            peer.node_id,
            "answered",
            evaluated=len(plan.plates),
            hits=len(hits),
            receipt_index=evaluated.receipt_index,
        )
        return hits, outcome

    async def evaluate(
        self,
        plan: AskPlan,
        *,
        purpose: str,
        case_number: str,
        epochs: tuple[int, ...],
        user: str,
        kind: QueryKind = QueryKind.HIT_QUERY,
        categories: tuple[str, ...] = (),
    ) -> Evaluated:
        """Blind ``plan``'s plates, sign and log the query, have the peer evaluate them
        for ``epochs``, verify its receipt and proofs, and unblind: the OPRF outputs per
        epoch, in the order of ``plan.plates``. Raises what the transport or the checks
        raise (:class:`PeerRefusal`, :class:`PeerUnavailableError`, :class:`AnswerError`,
        :class:`~crypto.errors.CryptoError`)."""
        peer = plan.peer
        forms = list(plan.plates)
        inputs = [oprf_input(p) for p in forms]
        blinded = await asyncio.to_thread(blind_all, inputs)
        elements = [b.blinded_element for b in blinded]
        query = HitQueryBody(
            request_id=RequestId(uuid.uuid4().hex),
            requester=NodeId(self._config.name),
            responder=peer.node_id,
            ori=self._config.ori,
            agreement_id=plan.agreement.id,
            agreement_version=plan.stored.version,
            purpose=purpose,
            case_number=case_number,
            user=self._recorder.actor(user),
            window_days=max(1, day_epoch(self._clock()) - min(epochs) + 1),
            epochs=epochs,
            batch_size=len(elements),
            elements_sha256=elements_digest(elements),
            salt=os.urandom(32),
            time=self._clock().replace(microsecond=0),
            kind=kind,
            categories=categories,
        )
        body = query.encode()
        signature = sign(self._signing_key, HIT_QUERY_DOMAIN, body)
        q_commit = query.q_commit(body)
        await self._recorder.record(
            "query.sent",
            request_id=query.request_id,
            peer=peer.node_id,
            agreement_id=plan.agreement.id,
            agreement_hash=plan.stored.digest.hex(),
            purpose=purpose,
            case_commit=query.case_commit(),
            actor=query.user,
            window_days=query.window_days,
            batch_size=len(elements),
            q_commit=q_commit,
        )
        answer = await self._transport.evaluate_hits(peer, body, signature, elements)
        receipt_index = verify_receipt(
            answer.receipt,
            log_verifier(peer.name, peer.log_key),
            request_id=query.request_id,
            q_commit=q_commit,
            peer=peer.node_id,
        )
        outputs = await asyncio.to_thread(self._unblind, plan, query, answer, inputs, blinded)
        return Evaluated(query, q_commit, outputs, receipt_index)

    async def record_answer(self, evaluated: Evaluated, *, hits: int) -> None:
        """Log ``answer.received`` for an evaluated query."""
        await self._recorder.record(
            "answer.received",
            request_id=evaluated.query.request_id,
            peer=evaluated.query.responder,
            q_commit=evaluated.q_commit,
            hits=hits,
            receipt_index=evaluated.receipt_index,
        )

    def _unblind(
        self,
        plan: AskPlan,
        query: HitQueryBody,
        answer: HitAnswer,
        inputs: list[bytes],
        blinded: list[Blinded],
    ) -> dict[Epoch, list[bytes]]:
        """Pin each epoch's key, verify the epochs' proofs over their shared composite
        (``finalize_multi``, ADR 0008) and unblind, in threads (the native group
        operations release the GIL)."""
        asked = set(query.epochs)
        epochs = [a.epoch for a in answer.epochs]
        if len(set(epochs)) != len(epochs) or not set(epochs) <= asked:
            raise AnswerError(f"{plan.peer.node_id} answered for epochs it was not asked")
        now = self._clock()
        with session_scope(self._sessions) as s:
            pins = PeerIndexRepository(s)
            for a in answer.epochs:
                pins.pin_epoch_key(
                    plan.peer.node_id, plan.agreement.id, a.epoch, a.public_key, now=now
                )
        batch = prepare_batch(
            inputs, [b.blind for b in blinded], [b.blinded_element for b in blinded]
        )
        replies = [KeyedReply(a.public_key, a.evaluated, a.proof) for a in answer.epochs]
        if not replies:  # every epoch asked has expired at the peer: nothing to prove
            return {}
        with cf.ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
            results = finalize_multi(batch, replies, mapper=pool.map)
        return dict(zip(epochs, results, strict=True))

    def _match(self, plan: AskPlan, outputs: dict[Epoch, list[bytes]]) -> list[Hit]:
        forms = list(plan.plates)
        hits: list[Hit] = []
        with session_scope(self._sessions) as s:
            held = PeerIndexRepository(s)
            for epoch, epoch_outputs in sorted(outputs.items()):
                scope = IndexScope(plan.agreement.id, epoch).encode()
                keys = [MatchKey.from_oprf_output(y) for y in epoch_outputs]
                open_ = list(range(len(forms)))
                j = 0
                while open_:
                    ids = {i: keys[i].entry_id(scope, j) for i in open_}
                    found = held.find(
                        plan.peer.node_id, plan.agreement.id, epoch, list(ids.values())
                    )
                    still = []
                    for i in open_:
                        record = found.get(ids[i])
                        if record is None:
                            continue
                        detail = read_detail(keys[i].open_label(scope, ids[i], record.label))
                        for typed in plan.plates[forms[i]]:
                            hits.append(Hit(plan.peer.node_id, typed, epoch, detail))
                        still.append(i)
                    open_ = still
                    j += 1
        return hits
