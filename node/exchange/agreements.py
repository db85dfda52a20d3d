"""The agreement desk: proposing, deciding and ending agreements with peers.

One :class:`AgreementDesk` per node, built by :class:`~node.app.NodeApp`. Its admin-facing
methods (:meth:`~AgreementDesk.propose`, :meth:`~AgreementDesk.decide`,
:meth:`~AgreementDesk.end`, :meth:`~AgreementDesk.list`) are called by the node's own admin
API; its ``receive_*`` methods by the peer-facing ``AgreementService``, with the caller's
name taken from its TLS certificate, never from the message.

The life of one version, seen from both nodes::

    requester A                                  responder B
    propose: check A's profile, sign  --------->  receive_proposal: verify, check B's
    store "proposed", agreement.created  <--ack-  profile, store "proposed", agreement.created
                                                  decide(accept): check B's profile, sign
    receive_answer: verify, "active"  <---------  then store "active", admin.action
    end or receive_revocation: keys destroyed, "revoked", agreement.revoked (either side)

Contracts:

- A node MUST NOT sign, store or activate what its legal profile forbids; a refusal by
  policy is recorded on its ledger (``admin.action`` ``agreement.refused`` with the rule
  ids) and nothing else is stored.
- A proposal, an acceptance and a rejection take effect here only once the peer has
  acknowledged it. If the peer cannot be reached nothing changes here and the call fails
  with UNAVAILABLE; the admin simply runs it again. (Signatures are deterministic and a
  retried proposal on the same day builds the same document, so a retry after a lost
  acknowledgement is answered with the peer's stored state, not refused.)
- A revocation takes effect here FIRST (keys destroyed, status revoked, ledger entry) and
  is then sent: a node must be able to stop sharing whether or not its peer listens. If
  the peer cannot be told, the call fails with a message saying so, and running it again
  only re-sends the revocation.
- Every change made here is on this node's ledger: ``agreement.created`` (or
  ``agreement.amended`` for versions after the first) when a proposal is stored,
  ``admin.action`` for what an admin did (under a keyed pseudonym) or what a peer's answer
  changed, ``agreement.revoked`` when an agreement ends. A request that changes nothing
  (a repeat) records nothing.
- The store is written before the ledger: if the ledger append then fails, the call fails
  (INTERNAL) and the change stays without its entry; the node's log says which.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
from collections.abc import Callable, Sequence
from typing import TypeVar

from nacl.signing import SigningKey
from sqlalchemy.orm import Session, sessionmaker

from node.config import NodeConfig
from node.errors import PeerUnavailableError
from node.exchange.agreement_book import AgreementBook
from node.exchange.agreement_book import where as _where
from node.exchange.agreement_messages import (
    AgreementTransport,
    Answer,
    Proposal,
    ProposalReceipt,
    RevocationNotice,
    revocation_from_wire,
)
from node.exchange.agreement_terms import (
    AgreementTerms,
    AgreementView,
    build_agreement,
    check_admin,
    check_parties,
    check_reason,
    newest_per_agreement,
    own_party,
    parse_document,
    peer_party,
    view_of,
)
from node.exchange.errors import (
    AgreementConflictError,
    AgreementStateError,
    InvalidCommandError,
    PartyMismatchError,
    PeerDeniedError,
    PeerRefusedError,
    WrongPartyError,
)
from node.ids import AgreementId, NodeId
from node.ledger.recorder import Recorder
from node.policy import (
    Agreement,
    AgreementSignature,
    PolicyEngine,
    Role,
    revoke_agreement,
    sign_agreement,
    verify_agreement_signature,
    verify_revocation,
)
from node.store.agreements import AgreementStatus, StoredAgreement
from node.store.errors import ConstraintViolationError

T = TypeVar("T")

#: Reason recorded in ``agreement.revoked`` on the side that is told (the wire carries no
#: reason: the revoking side's own ledger holds it).
REVOKED_BY_PEER = "revoked-by-peer"
_DETAIL_MAX = 256
_STATUSES = frozenset(s.value for s in AgreementStatus)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AgreementDesk:
    """Agreements of one node with its peers. See the module docs for the contracts.

    ``clock`` is injectable so tests can stand at any time; times are taken to the whole
    second, as agreement documents and revocations carry them.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        config: NodeConfig,
        signing_key: SigningKey,
        recorder: Recorder,
        policy: PolicyEngine,
        transport: AgreementTransport,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self._book = AgreementBook(sessions)
        self._node = NodeId(config.name)
        self._me = own_party(config, signing_key)
        self._key = signing_key
        self._recorder = recorder
        self._policy = policy
        self._transport = transport
        self._clock = clock

    # -- admin side ------------------------------------------------------------------------

    async def propose(self, terms: AgreementTerms, *, admin: str) -> AgreementView:
        """Sign ``terms`` as requester and send them to ``terms.peer``.

        The version is the next one after any this node holds under the id. Raises
        :class:`PolicyDeniedError` if this node's profile forbids the agreement, and the
        peer's refusal (:class:`PeerDeniedError`, :class:`PeerRefusedError`,
        :class:`PeerUnavailableError`) if it does not store it; nothing is stored then.
        """
        actor = self._recorder.actor(check_admin(admin))
        now = self._now()
        peer = await self._db(self._book.usable_peer, terms.peer)
        version = await self._db(self._book.next_version, terms.agreement_id, peer)
        agreement = build_agreement(
            terms, version=version, requester=self._me, responder=peer_party(peer), now=now
        )
        await self._require_policy(agreement, peer.name, now)
        signature = sign_agreement(agreement, self._node, self._key)
        receipt = await self._transport.propose(
            peer, Proposal(agreement.canonical_bytes(), signature.signature)
        )
        if not hmac.compare_digest(receipt.agreement_hash, agreement.digest()):
            raise PeerRefusedError(
                peer.name,
                f"peer {peer.name} acknowledged {_where(agreement.id, version)} "
                "under another hash; nothing was stored here",
            )
        try:
            stored = await self._db(
                self._book.store_proposal, agreement, peer.node_id, Role.REQUESTER, signature, now
            )
        except ConstraintViolationError as e:
            raise AgreementConflictError(
                f"{_where(agreement.id, version)} was stored here meanwhile; list and retry"
            ) from e
        index = await self._record_stored(agreement, peer.name, Role.REQUESTER)
        await self._admin_action(
            "agreement.propose", actor, f"{_where(agreement.id, version)} to {peer.name}"
        )
        return view_of(stored, now, index)

    async def decide(
        self,
        agreement_id: AgreementId,
        version: int | None,
        accept: bool,
        reason: str,
        *,
        admin: str,
    ) -> AgreementView:
        """Accept (sign) or reject a version a peer proposed; the latest when ``version``
        is ``None``. The requester is told first; only then does the status change here.

        Accepting re-checks this node's profile at the current time (profiles and
        validity may have changed since the proposal arrived).
        """
        actor = self._recorder.actor(check_admin(admin))
        if not accept:
            check_reason(reason)
        now = self._now()
        stored = await self._db(self._book.stored, agreement_id, version, None)
        where = _where(stored.id, stored.version)
        if stored.role != Role.RESPONDER.value:
            raise AgreementStateError(
                f"{where} was proposed by this node; only {stored.peer_id} can accept or reject it"
            )
        if stored.status is not AgreementStatus.PROPOSED:
            raise AgreementStateError(
                f"{where} is {stored.status}; only a proposed agreement can be decided"
            )
        peer = await self._db(self._book.usable_peer, stored.peer_id)
        agreement = parse_document(stored.document)
        if accept:
            await self._require_policy(agreement, peer.name, now)
            signature = sign_agreement(agreement, self._node, self._key)
            await self._transport.answer(
                peer, Answer(stored.id, stored.version, True, signature.signature, "")
            )
            updated = await self._db(self._book.activate, stored, Role.RESPONDER, signature, now)
            index = await self._admin_action(
                "agreement.accept",
                actor,
                f"{where} sha256:{stored.digest.hex()} with {peer.name}: active",
            )
        else:
            await self._transport.answer(
                peer, Answer(stored.id, stored.version, False, b"", reason)
            )
            updated = await self._db(self._book.set_status, stored, AgreementStatus.REJECTED, now)
            index = await self._admin_action(
                "agreement.reject", actor, f"{where} with {peer.name}: rejected ({reason})"
            )
        return view_of(updated, now, index)

    async def end(self, agreement_id: AgreementId, reason: str, *, admin: str) -> AgreementView:
        """Revoke the version in force: here first (keys destroyed, ledger), then at the
        peer. Run again on a revoked agreement, it only re-sends the revocation."""
        actor = self._recorder.actor(check_admin(admin))
        check_reason(reason)
        now = self._now()
        stored = await self._db(self._book.in_force_or_latest, agreement_id)
        where = _where(stored.id, stored.version)
        peer = await self._db(self._book.known_peer, stored.peer_id)
        agreement = parse_document(stored.document)
        revocation = revoke_agreement(agreement, self._node, self._key, now)
        index: int | None = None
        if stored.status is AgreementStatus.ACTIVE:
            updated, destroyed = await self._db(self._book.revoke, stored, now)
            index = await self._recorder.record(
                "agreement.revoked",
                agreement_id=stored.id,
                version=stored.version,
                agreement_hash=stored.digest.hex(),
                peer=peer.name,
                reason=reason,
            )
            await self._admin_action(
                "agreement.revoke",
                actor,
                f"{where} with {peer.name}: revoked ({reason}), "
                f"{len(destroyed)} epoch key(s) destroyed",
            )
        elif stored.status is AgreementStatus.REVOKED:
            updated = stored
        else:
            raise AgreementStateError(
                f"{where} is {stored.status}; only an active agreement can be revoked "
                "(a proposal is rejected by its responder, or expires)"
            )
        try:
            await self._transport.revoke(peer, RevocationNotice.of(stored.version, revocation))
        except PeerUnavailableError as e:
            raise PeerUnavailableError(f"{where} is revoked here, but {e}; run again") from e
        except PeerDeniedError as e:
            line = f"{where} is revoked here, but {e}"
            raise PeerDeniedError(e.peer, line, e.peer_code, e.rule_ids) from e
        except PeerRefusedError as e:
            raise PeerRefusedError(e.peer, f"{where} is revoked here, but {e}", e.peer_code) from e
        return view_of(updated, now, index)

    async def list(self, status: str | None = None) -> Sequence[AgreementView]:
        """The newest version of each agreement, among those with ``status`` if given
        (``expired`` selects versions past their validity, whatever was stored)."""
        if status and status not in _STATUSES:
            raise InvalidCommandError(
                f"unknown status {status!r} (one of {', '.join(sorted(_STATUSES))})"
            )
        now = self._now()
        views = [view_of(s, now) for s in await self._db(self._book.all)]
        if status:
            views = [v for v in views if v.status == status]
        return newest_per_agreement(views)

    # -- peer side -------------------------------------------------------------------------

    async def receive_proposal(self, proposal: Proposal, *, from_peer: str) -> ProposalReceipt:
        """Store a peer's signed proposal for this node's admin.

        Checked in this order, each refusal storing nothing: the document is canonical
        and valid; the caller is its requester; this node is its responder; both parties
        are described exactly as this node knows them; the requester's signature verifies
        under the key pinned for that peer; the id and version are new here (a repeat of
        the very same document is answered with the stored state); this node's profile
        allows it, at the current time (an expired agreement is refused by rule
        ``agreement.expired``).
        """
        now = self._now()
        agreement = parse_document(proposal.document)
        where = _where(agreement.id, agreement.version)
        if agreement.requester.node_id != from_peer:
            raise WrongPartyError(f"{from_peer} is not the requester of {where}")
        if agreement.responder.node_id != self._node:
            raise PartyMismatchError(
                f"{where} names {agreement.responder.node_id} as responder, not this node"
            )
        peer = await self._db(self._book.known_peer, NodeId(from_peer))
        check_parties(agreement, requester=peer_party(peer), responder=self._me)
        signature = AgreementSignature(agreement.requester.node_id, proposal.requester_signature)
        verify_agreement_signature(agreement, signature)
        held = await self._db(self._book.held, agreement, peer.node_id)
        if held is not None:
            return ProposalReceipt(held.digest, None)
        await self._require_policy(agreement, peer.name, now)
        try:
            stored = await self._db(
                self._book.store_proposal, agreement, peer.node_id, Role.RESPONDER, signature, now
            )
        except ConstraintViolationError as e:  # the same proposal, twice at once
            held = await self._db(self._book.held, agreement, peer.node_id)
            if held is not None:
                return ProposalReceipt(held.digest, None)
            raise AgreementConflictError(f"{where} conflicts with one stored meanwhile") from e
        index = await self._record_stored(agreement, peer.name, Role.RESPONDER)
        return ProposalReceipt(stored.digest, index)

    async def receive_answer(self, answer: Answer, *, from_peer: str) -> int | None:
        """The responder's decision on a version this node proposed. An acceptance must
        carry the responder's valid signature; a repeat changes nothing (``None``)."""
        now = self._now()
        stored = await self._db(
            self._book.stored, answer.agreement_id, answer.version, NodeId(from_peer)
        )
        where = _where(stored.id, stored.version)
        if stored.role != Role.REQUESTER.value:
            raise WrongPartyError(f"{from_peer} proposed {where}; only this node can answer it")
        agreement = parse_document(stored.document)
        if answer.accepted:
            signature = AgreementSignature(agreement.responder.node_id, answer.signature)
            verify_agreement_signature(agreement, signature)
            if stored.status is AgreementStatus.ACTIVE and any(
                s.role == Role.RESPONDER.value and s.signature == answer.signature
                for s in stored.signatures
            ):
                return None
            self._require_proposed(stored, "become active")
            await self._db(self._book.activate, stored, Role.RESPONDER, signature, now)
            return await self._admin_action(
                "agreement.activated",
                self._recorder.actor("system"),
                f"{where} sha256:{stored.digest.hex()} accepted by {from_peer}: active",
            )
        reason = check_reason(answer.reason)
        if stored.status is AgreementStatus.REJECTED:
            return None
        self._require_proposed(stored, "be rejected")
        await self._db(self._book.set_status, stored, AgreementStatus.REJECTED, now)
        return await self._admin_action(
            "agreement.rejected",
            self._recorder.actor("system"),
            f"{where} rejected by {from_peer} ({reason})",
        )

    async def receive_revocation(self, notice: RevocationNotice, *, from_peer: str) -> int | None:
        """The other party ends an agreement: verify its signed revocation, destroy the
        agreement's epoch keys, mark it revoked and record ``agreement.revoked``."""
        now = self._now()
        revocation = revocation_from_wire(notice.body, notice.signature)
        stored = await self._db(
            self._book.stored, notice.agreement_id, notice.version, NodeId(from_peer)
        )
        where = _where(stored.id, stored.version)
        if revocation.revoked_by != from_peer:
            raise WrongPartyError(f"the revocation of {where} is not signed by {from_peer}")
        verify_revocation(parse_document(stored.document), revocation)
        if stored.status is AgreementStatus.REVOKED:
            return None
        if stored.status is not AgreementStatus.ACTIVE:
            raise AgreementStateError(f"{where} is {stored.status} here; it cannot be revoked")
        await self._db(self._book.revoke, stored, now)
        return await self._recorder.record(
            "agreement.revoked",
            agreement_id=stored.id,
            version=stored.version,
            agreement_hash=stored.digest.hex(),
            peer=from_peer,
            reason=REVOKED_BY_PEER,
        )

    # -- policy and ledger -----------------------------------------------------------------

    async def _require_policy(self, agreement: Agreement, peer: str, now: dt.datetime) -> None:
        """This node's profile must allow ``agreement``; a refusal goes to the ledger with
        the ids of the rules that decided, then raises :class:`PolicyDeniedError`."""
        decision = self._policy.check_agreement(agreement, self._node, now)
        if not decision.allowed:
            await self._admin_action(
                "agreement.refused",
                self._recorder.actor("system"),
                f"{_where(agreement.id, agreement.version)} with {peer}: "
                f"denied by {', '.join(decision.rule_ids)}",
            )
            decision.raise_if_denied()

    async def _record_stored(self, agreement: Agreement, peer: str, role: Role) -> int:
        return await self._recorder.record(
            "agreement.created" if agreement.version == 1 else "agreement.amended",
            agreement_id=agreement.id,
            version=agreement.version,
            agreement_hash=agreement.digest().hex(),
            peer=peer,
            role=role.value,
        )

    async def _admin_action(self, action: str, actor: str, detail: str) -> int:
        return await self._recorder.record(
            "admin.action", action=action, actor=actor, detail=detail[:_DETAIL_MAX]
        )

    def _now(self) -> dt.datetime:
        return self._clock().astimezone(dt.UTC).replace(microsecond=0)

    @staticmethod
    def _require_proposed(stored: StoredAgreement, change: str) -> None:
        if stored.status is not AgreementStatus.PROPOSED:
            where = _where(stored.id, stored.version)
            raise AgreementStateError(f"{where} is {stored.status} here; it cannot {change}")

    # -- store (each runs in a worker thread, in one transaction) --------------------------

    async def _db(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.to_thread(fn, *args)
