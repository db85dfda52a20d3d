"""The agreements this node holds, as the desk reads and changes them.

Synchronous, one transaction per method: :class:`~node.exchange.agreements.AgreementDesk`
runs each in a worker thread. Store errors a caller can cause (a taken id, a status that
changed meanwhile) become :mod:`node.exchange.errors` here; a missing agreement with a
given peer is reported exactly like one that does not exist, so a peer learns nothing
about agreements it is not party to.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from node.exchange.agreement_terms import parse_document
from node.exchange.errors import (
    AgreementConflictError,
    AgreementNotFoundError,
    AgreementStateError,
    InactivePeerError,
    NoSuchPeerError,
)
from node.ids import AgreementId, NodeId
from node.policy import Agreement, AgreementSignature, Role
from node.store.agreements import (
    AgreementRepository,
    AgreementStatus,
    OprfKeyRepository,
    StoredAgreement,
)
from node.store.agreements import AgreementSignature as StoredSignature
from node.store.db import session_scope
from node.store.errors import ConstraintViolationError, InvalidTransitionError
from node.store.peers import Peer, PeerRepository


def where(agreement_id: str, version: int) -> str:
    """How messages name one version of an agreement."""
    return f"agreement {agreement_id} v{version}"


class AgreementBook:
    """Agreement versions and peers, through the node's store."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def known_peer(self, node_id: NodeId) -> Peer:
        with session_scope(self._sessions) as s:
            peer = PeerRepository(s).get(node_id)
        if peer is None:
            raise NoSuchPeerError(f"no peer named {node_id} (see `accord node peers list`)")
        return peer

    def usable_peer(self, node_id: NodeId) -> Peer:
        peer = self.known_peer(node_id)
        if not peer.active:
            raise InactivePeerError(f"peer {node_id} is suspended on this node; restore it first")
        return peer

    def next_version(self, agreement_id: AgreementId, peer: Peer) -> int:
        with session_scope(self._sessions) as s:
            latest = AgreementRepository(s).get(agreement_id)
        if latest is None:
            return 1
        if (latest.peer_id, latest.role) != (peer.node_id, Role.REQUESTER.value):
            raise AgreementConflictError(
                f"agreement id {agreement_id} is already used on this node with "
                f"{latest.peer_id} as {latest.role}; choose another id"
            )
        return latest.version + 1

    def held(self, agreement: Agreement, peer_id: NodeId) -> StoredAgreement | None:
        """The stored copy of exactly this proposal, ``None`` if it is new; raises
        :class:`AgreementConflictError` if the id or version is taken otherwise."""
        which = where(agreement.id, agreement.version)
        with session_scope(self._sessions) as s:
            repo = AgreementRepository(s)
            latest = repo.get(agreement.id)
            same = repo.get(agreement.id, agreement.version)
        if latest is None:
            return None
        if (latest.peer_id, latest.role) != (peer_id, Role.RESPONDER.value):
            raise AgreementConflictError(
                f"agreement id {agreement.id} is already in use on this node; "
                "propose under another id"
            )
        if same is not None:
            if hmac.compare_digest(same.digest, agreement.digest()):
                return same
            raise AgreementConflictError(
                f"{which} is already held here with a different document; propose a new version"
            )
        if agreement.version < latest.version:
            raise AgreementConflictError(
                f"{which}: this node holds version {latest.version}; "
                "a new proposal needs a higher version"
            )
        return None

    def store_proposal(
        self,
        agreement: Agreement,
        peer_id: NodeId,
        role: Role,
        signature: AgreementSignature,
        now: dt.datetime,
    ) -> StoredAgreement:
        with session_scope(self._sessions) as s:
            repo = AgreementRepository(s)
            repo.add_version(
                agreement_id=agreement.id,
                version=agreement.version,
                peer_id=peer_id,
                role=role.value,
                document=agreement.canonical_bytes(),
                digest=agreement.digest(),
                valid_from=agreement.valid_from,
                valid_until=agreement.valid_until,
                now=now,
            )
            repo.add_signature(
                agreement.id,
                agreement.version,
                StoredSignature(
                    Role.REQUESTER.value,
                    agreement.requester.signing_key,
                    signature.signature,
                    now,
                ),
            )
            stored = repo.get(agreement.id, agreement.version)
        assert stored is not None
        return stored

    def stored(
        self, agreement_id: AgreementId, version: int | None, peer_id: NodeId | None
    ) -> StoredAgreement:
        """A version held here (the latest if ``version`` is ``None``). With ``peer_id``,
        an agreement with another peer is reported exactly as a missing one, so a peer
        learns nothing about agreements it is not party to."""
        with session_scope(self._sessions) as s:
            stored = AgreementRepository(s).get(agreement_id, version)
        if stored is None or (peer_id is not None and stored.peer_id != peer_id):
            which = f" version {version}" if version else ""
            raise AgreementNotFoundError(f"no agreement {agreement_id}{which} here")
        return stored

    def in_force_or_latest(self, agreement_id: AgreementId) -> StoredAgreement:
        with session_scope(self._sessions) as s:
            stored = AgreementRepository(s).in_force(agreement_id)
        return stored if stored is not None else self.stored(agreement_id, None, None)

    def activate(
        self,
        stored: StoredAgreement,
        role: Role,
        signature: AgreementSignature,
        now: dt.datetime,
    ) -> StoredAgreement:
        agreement = parse_document(stored.document)
        try:
            with session_scope(self._sessions) as s:
                repo = AgreementRepository(s)
                repo.add_signature(
                    stored.id,
                    stored.version,
                    StoredSignature(
                        role.value, agreement.party(role).signing_key, signature.signature, now
                    ),
                )
                return repo.set_status(stored.id, stored.version, AgreementStatus.ACTIVE, now=now)
        except (ConstraintViolationError, InvalidTransitionError) as e:
            raise AgreementStateError(
                f"{where(stored.id, stored.version)} changed meanwhile; list it and retry"
            ) from e

    def set_status(
        self, stored: StoredAgreement, status: AgreementStatus, now: dt.datetime
    ) -> StoredAgreement:
        try:
            with session_scope(self._sessions) as s:
                return AgreementRepository(s).set_status(stored.id, stored.version, status, now=now)
        except InvalidTransitionError as e:
            raise AgreementStateError(str(e)) from e

    def revoke(
        self, stored: StoredAgreement, now: dt.datetime
    ) -> tuple[StoredAgreement, Sequence[int]]:
        """Revoke and destroy every epoch key of the agreement, in one transaction."""
        try:
            with session_scope(self._sessions) as s:
                updated = AgreementRepository(s).set_status(
                    stored.id, stored.version, AgreementStatus.REVOKED, now=now
                )
                destroyed = OprfKeyRepository(s).destroy(stored.id, now=now)
        except InvalidTransitionError as e:
            raise AgreementStateError(str(e)) from e
        return updated, destroyed

    def all(self) -> Sequence[StoredAgreement]:
        with session_scope(self._sessions) as s:
            return AgreementRepository(s).find()
