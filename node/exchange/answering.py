"""Answering a peer's hit query: check everything, evaluate blinded plates, log both steps.

The responder never sees a plate: it gets blinded ristretto255 elements and evaluates
them under its VOPRF key of each epoch asked, with one batched DLEQ proof per epoch. Before
that, in this order, a query must pass (each failure its own status and rule id):

1. a transport cap on the batch (``request.batch-cap``, RESOURCE_EXHAUSTED);
2. a body that parses strictly and names this node as responder and the caller as
   requester (INVALID_ARGUMENT / PERMISSION_DENIED);
3. the requester's signature, with the signing key pinned for that peer
   (``request.signature``);
4. the clock window and the replay cache (``request.stale``, ``request.replay``:
   ALREADY_EXISTS);
5. elements that are exactly the batch the body commits to, each a valid element
   (``request.elements``);
6. epochs inside the window ending today (``request.epochs``);
7. the agreement in force and the legal profile (PolicyEngine: ``agreement.*`` and the
   profile's rule ids, PERMISSION_DENIED), the daily rate included.

Every refusal of a query that parsed is recorded as ``query.received`` with decision
``deny`` and the rule ids; one that did not parse as ``admin.action`` ``query.refused``.
A refusal says nothing about any plate (nothing was evaluated). An allowed query is
recorded as ``query.received`` (``allow``), evaluated, and answered with ``answer.sent``,
whose inclusion receipt goes back with the evaluations.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import datetime as dt
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from crypto.errors import SignatureError
from crypto.oprf import blind_evaluate_multi
from crypto.ristretto import default_backend
from crypto.sign import verify
from node.errors import PeerMismatchError
from node.exchange.epoch_keys import EpochKeys
from node.exchange.hit_query import HIT_QUERY_DOMAIN, HitQueryBody, elements_digest
from node.exchange.in_force import signed_agreement
from node.exchange.query_errors import QueryFormatError, QueryReplayError
from node.exchange.receipts import Receipt
from node.ids import Epoch, NodeId
from node.ledger.log import LedgerLog
from node.ledger.recorder import Recorder
from node.policy.agreement import QueryKind
from node.policy.engine import Decision, PolicyEngine
from node.policy.errors import InvalidQueryError, PolicyDeniedError
from node.sealed_reads import day_epoch
from node.store.agreements import AgreementRepository, AgreementStatus
from node.store.db import session_scope
from node.store.index import IndexRepository
from node.store.ledger import StoredCheckpoint
from node.store.peers import PeerRepository
from node.store.replay import ReplayCache

log = logging.getLogger(__name__)

#: Most blinded elements one request may carry, whatever an agreement says: a transport
#: guard against oversized requests, checked before anything is parsed.
MAX_ELEMENTS = 10_000
#: How far a request's time may be from this node's clock.
CLOCK_WINDOW = dt.timedelta(minutes=5)
_NO_HASH = "0" * 64


class BatchCapError(QueryFormatError):
    """More elements in one request than any node accepts."""


@dataclass(frozen=True, slots=True)
class EpochAnswer:
    epoch: Epoch
    public_key: bytes
    evaluated: tuple[bytes, ...]
    proof: bytes


@dataclass(frozen=True, slots=True)
class HitAnswer:
    request_id: str
    epochs: tuple[EpochAnswer, ...]
    receipt: Receipt


@dataclass(frozen=True, slots=True)
class _Checked:
    body: HitQueryBody
    raw: bytes
    agreement_hash: str


class Answerer:
    """Answers ``EvaluateHits`` for this node."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        node_name: str,
        engine: PolicyEngine,
        recorder: Recorder,
        epoch_keys: EpochKeys,
        ledger: LedgerLog,
        checkpoint_now: Callable[[], Awaitable[StoredCheckpoint]],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sessions = sessions
        self._node = node_name
        self._engine = engine
        self._recorder = recorder
        self._keys = epoch_keys
        self._ledger = ledger
        self._checkpoint_now = checkpoint_now
        self._clock = clock

    async def evaluate_hits(
        self, caller: NodeId, body: bytes, signature: bytes, elements: Sequence[bytes]
    ) -> HitAnswer:
        """Check, evaluate, log and answer one hit query from ``caller``."""
        now = self._clock()
        if len(elements) > MAX_ELEMENTS:
            await self._refused_unparsed(caller, "request.batch-cap")
            raise BatchCapError(f"{len(elements)} elements in one request; at most {MAX_ELEMENTS}")
        try:
            query = HitQueryBody.decode(body)
        except InvalidQueryError:
            await self._refused_unparsed(caller, "request.format")
            raise
        if query.requester != caller:
            await self._refused_unparsed(caller, "request.requester")
            raise PeerMismatchError(f"{caller} sent a query signed as {query.requester}")
        if query.responder != self._node:
            await self._refused_unparsed(caller, "request.responder")
            raise QueryFormatError(f"the query is addressed to {query.responder}, not this node")
        checked = _Checked(query, body, await asyncio.to_thread(self._agreement_hash, query))
        try:
            await asyncio.to_thread(self._check_request, checked, signature, elements, now)
            decision = await asyncio.to_thread(self._decide, checked, now)
        except (QueryFormatError, SignatureError, PolicyDeniedError) as e:
            await self._record_received(checked, "deny", _rule_ids(e))
            raise
        await self._record_received(checked, "allow", decision.rule_ids)
        answers = await self._evaluate(query, elements)
        index = await self._recorder.record(
            "answer.sent",
            request_id=query.request_id,
            peer=caller,
            q_commit=query.q_commit(body),
            evaluated=len(elements),
            epochs=len(answers),
        )
        return HitAnswer(query.request_id, answers, await self._receipt(index))

    # -- checks ----------------------------------------------------------------------------

    def _agreement_hash(self, query: HitQueryBody) -> str:
        with session_scope(self._sessions) as s:
            stored = AgreementRepository(s).get(query.agreement_id, query.agreement_version)
        return _NO_HASH if stored is None else stored.digest.hex()

    def _check_request(
        self, checked: _Checked, signature: bytes, elements: Sequence[bytes], now: dt.datetime
    ) -> None:
        query = checked.body
        with session_scope(self._sessions) as s:
            peer = PeerRepository(s).get(query.requester)
            if peer is None:  # pragma: no cover - the interceptor admits known peers only
                raise QueryFormatError(f"{query.requester} is not a peer of this node")
            try:
                verify(peer.signing_key, HIT_QUERY_DOMAIN, checked.raw, signature)
            except SignatureError as e:
                raise _RequestRuleError(
                    "request.signature", f"the query's signature by {peer.name} does not verify"
                ) from e
            if abs(now - query.time) > CLOCK_WINDOW:
                raise _ReplayRuleError(
                    "request.stale",
                    f"the query was made at {query.time:%Y-%m-%dT%H:%M:%SZ}, "
                    f"outside this node's clock window of {CLOCK_WINDOW}",
                )
            g = default_backend()
            if (
                len(elements) != query.batch_size
                or elements_digest(elements) != query.elements_sha256
            ):
                raise _RequestRuleError(
                    "request.elements", "the elements are not the batch the signed query commits to"
                )
            for i, element in enumerate(elements):
                if not g.is_valid(element):
                    raise _RequestRuleError(
                        "request.elements", f"element {i} is not a valid ristretto255 element"
                    )
            today = day_epoch(now)
            first = today - query.window_days + 1
            if any(not first <= e <= today for e in query.epochs):
                raise _RequestRuleError(
                    "request.epochs", f"epochs must lie in the window {first}..{today}"
                )
            fresh = ReplayCache(s).remember(
                query.requester, query.request_id, expires=query.time + CLOCK_WINDOW, now=now
            )
            if not fresh:
                raise _ReplayRuleError(
                    "request.replay", f"request {query.request_id} was seen before"
                )

    def _decide(self, checked: _Checked, now: dt.datetime) -> Decision:
        query = checked.body
        with session_scope(self._sessions) as s:
            repo = AgreementRepository(s)
            stored = repo.get(query.agreement_id, query.agreement_version)
            if (
                stored is None
                or stored.peer_id != query.requester
                or stored.role != "responder"
                or stored.status is not AgreementStatus.ACTIVE
            ):
                raise PolicyDeniedError(
                    ["agreement.id"],
                    f"no active agreement {query.agreement_id} v{query.agreement_version} "
                    f"with {query.requester}",
                )
            index = IndexRepository(s)
            used = index.used(query.agreement_id, day_epoch(now))
            signed = signed_agreement(stored)
            if query.kind is QueryKind.ALERTS:
                decision = self._engine.require_share(signed, query.share(), now)
                limit = signed.agreement.rate_limit
                if (
                    query.batch_size > limit.max_batch
                    or used + query.batch_size > limit.plates_per_day
                ):
                    raise PolicyDeniedError(
                        ["agreement.rate-limit"],
                        f"{used + query.batch_size} plates today, {query.batch_size} in one "
                        f"request; the agreement allows {limit.plates_per_day}, "
                        f"{limit.max_batch}",
                    )
            else:
                decision = self._engine.require_query(signed, query.context(), now, used_today=used)
            index.add_usage(query.agreement_id, day_epoch(now), query.batch_size)
        return decision

    # -- evaluation and logging ------------------------------------------------------------

    async def _evaluate(
        self, query: HitQueryBody, elements: Sequence[bytes]
    ) -> tuple[EpochAnswer, ...]:
        keys = await self._keys.ensure(query.agreement_id, [Epoch(e) for e in query.epochs])

        live = [keys[e] for e in sorted(keys) if keys[e].secret is not None]  # expired: gone
        if not live:
            return ()
        secrets = [k.secret for k in live if k.secret is not None]

        def run() -> tuple[EpochAnswer, ...]:
            # One composite for all epochs (blind_evaluate_multi, ADR 0008); the epochs'
            # evaluations and the composite's chunks run in threads, as the native group
            # operations release the GIL.
            with cf.ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
                replies = blind_evaluate_multi(secrets, elements, mapper=pool.map)
            return tuple(
                EpochAnswer(key.epoch, r.public_key, r.evaluated_elements, r.proof)
                for key, r in zip(live, replies, strict=True)
            )

        return await asyncio.to_thread(run)

    async def _receipt(self, index: int) -> Receipt:
        checkpoint = await self._checkpoint_now()
        if checkpoint.size <= index:  # pragma: no cover - the checkpoint follows the append
            raise RuntimeError("the checkpoint does not cover the answer")
        proof = await asyncio.to_thread(self._ledger.inclusion_proof, index, checkpoint.size)
        (entry,) = await asyncio.to_thread(self._ledger.entries, index, index + 1)
        return Receipt(str(self._ledger.log_id), index, entry.entry, tuple(proof), checkpoint.note)

    async def _record_received(
        self, checked: _Checked, decision: str, rule_ids: Sequence[str]
    ) -> None:
        q = checked.body
        await self._recorder.record(
            "query.received",
            request_id=q.request_id,
            peer=q.requester,
            agreement_id=q.agreement_id,
            agreement_hash=checked.agreement_hash,
            purpose=q.purpose,
            case_commit=q.case_commit(),
            actor=q.user,
            window_days=q.window_days,
            batch_size=q.batch_size,
            q_commit=q.q_commit(checked.raw),
            decision=decision,
            rule_ids=list(rule_ids),
        )

    async def _refused_unparsed(self, caller: NodeId, rule_id: str) -> None:
        await self._recorder.record(
            "admin.action",
            action="query.refused",
            actor=self._recorder.actor(f"peer:{caller}"),
            detail=f"{rule_id} from {caller}",
        )


class _RequestRuleError(QueryFormatError):
    """A refusal of a parsed query by a request rule (INVALID_ARGUMENT)."""

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(f"{rule_id}: {message}")
        self.rule_id = rule_id


class _ReplayRuleError(QueryReplayError):
    """A stale or replayed query (ALREADY_EXISTS)."""

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(f"{rule_id}: {message}")
        self.rule_id = rule_id


def _rule_ids(error: Exception) -> list[str]:
    if isinstance(error, PolicyDeniedError):
        return list(error.rule_ids)
    rule = getattr(error, "rule_id", None)
    return [rule] if isinstance(rule, str) else ["request.invalid"]
