"""The peers this node knows: identity, endpoint, pinned certificate and public keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.config import AgencyKind, Jurisdiction
from node.ids import NodeId
from node.store.db import translate_errors
from node.store.errors import NotFoundError
from node.store.models import PeerRow

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Peer:
    """Another node of the federation.

    ``cert_sha256`` is the lower-case hex SHA-256 of its TLS certificate (what the mTLS
    interceptor looks peers up by); the four keys are raw 32-byte public keys.
    """

    node_id: NodeId
    name: str
    ori: str
    jurisdiction: Jurisdiction
    kind: AgencyKind
    endpoint: str
    cert_sha256: str
    cert_pem: bytes
    signing_key: bytes
    log_key: bytes
    witness_key: bytes
    sealing_key: bytes
    active: bool
    added: dt.datetime
    updated: dt.datetime
    #: Suspended by this node's admin; a directory refresh never reactivates it.
    suspended: bool = False

    def __post_init__(self) -> None:
        if not _HEX64.match(self.cert_sha256):
            raise ValueError("cert_sha256 must be 64 lower-case hex digits")
        for field in ("signing_key", "log_key", "witness_key", "sealing_key"):
            if len(getattr(self, field)) != 32:
                raise ValueError(f"{field} must be a 32-byte public key")


def _peer(row: PeerRow) -> Peer:
    return Peer(
        node_id=NodeId(row.node_id),
        name=row.name,
        ori=row.ori,
        jurisdiction=Jurisdiction.parse(row.jurisdiction),
        kind=AgencyKind(row.kind),
        endpoint=row.endpoint,
        cert_sha256=row.cert_sha256,
        cert_pem=row.cert_pem,
        signing_key=row.signing_key,
        log_key=row.log_key,
        witness_key=row.witness_key,
        sealing_key=row.sealing_key,
        active=row.active,
        added=row.added,
        updated=row.updated,
        suspended=row.suspended,
    )


def _fill(row: PeerRow, peer: Peer) -> None:
    row.name = peer.name
    row.ori = peer.ori
    row.jurisdiction = str(peer.jurisdiction)
    row.kind = peer.kind.value
    row.endpoint = peer.endpoint
    row.cert_sha256 = peer.cert_sha256
    row.cert_pem = peer.cert_pem
    row.signing_key = peer.signing_key
    row.log_key = peer.log_key
    row.witness_key = peer.witness_key
    row.sealing_key = peer.sealing_key
    row.active = peer.active
    row.suspended = peer.suspended
    row.updated = peer.updated


class PeerRepository:
    """Peers by node id and by certificate fingerprint (both unique)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, peer: Peer) -> Peer:
        """Add a peer. :class:`DuplicateError` if its id or certificate is known."""
        row = PeerRow(node_id=peer.node_id, added=peer.added)
        _fill(row, peer)
        with translate_errors(self._session):
            self._session.add(row)
            self._session.flush()
        return _peer(row)

    def replace(self, peer: Peer) -> Peer:
        """Overwrite a known peer's details (a new directory version); keeps ``added``."""
        with translate_errors(self._session):
            row = self._session.get(PeerRow, peer.node_id)
            if row is None:
                raise NotFoundError(f"no peer {peer.node_id}")
            _fill(row, peer)
            self._session.flush()
        return _peer(row)

    def set_active(self, node_id: NodeId, active: bool, *, now: dt.datetime) -> Peer:
        """Suspend (``False``) or restore a peer without forgetting it."""
        current = self.get(node_id)
        if current is None:
            raise NotFoundError(f"no peer {node_id}")
        return self.replace(dataclasses.replace(current, active=active, updated=now))

    def set_suspended(
        self, node_id: NodeId, suspended: bool, *, active: bool, now: dt.datetime
    ) -> Peer:
        """The admin's suspension (or its end), with the activity that follows from it."""
        current = self.get(node_id)
        if current is None:
            raise NotFoundError(f"no peer {node_id}")
        return self.replace(
            dataclasses.replace(current, suspended=suspended, active=active, updated=now)
        )

    def get(self, node_id: NodeId) -> Peer | None:
        with translate_errors(self._session):
            row = self._session.get(PeerRow, node_id)
        return None if row is None else _peer(row)

    def by_fingerprint(self, cert_sha256: str) -> Peer | None:
        stmt = select(PeerRow).where(PeerRow.cert_sha256 == cert_sha256.lower())
        with translate_errors(self._session):
            row = self._session.scalars(stmt).one_or_none()
        return None if row is None else _peer(row)

    def all(self, *, active_only: bool = False) -> list[Peer]:
        stmt = select(PeerRow).order_by(PeerRow.node_id)
        if active_only:
            stmt = stmt.where(PeerRow.active.is_(True))
        with translate_errors(self._session):
            return [_peer(r) for r in self._session.scalars(stmt)]
