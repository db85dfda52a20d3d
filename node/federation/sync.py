"""The peer table made to match the held directory.

On a federated node the directory is the only source of peers: every other member is
added or updated (endpoint, certificate, keys), and every peer the directory no longer
lists is deactivated, so the server's interceptor refuses its next call and its
certificate leaves the TLS trust bundle at the next handshake. A peer is deactivated,
never deleted: the ledger and agreements still name it.

When the held directory has expired, every peer is deactivated (fail closed) until a
fresh one arrives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from crypto.directory import Directory, Member
from node.config import AgencyKind, Jurisdiction
from node.ids import NodeId
from node.store.db import session_scope
from node.store.peers import Peer, PeerRepository

#: Fields a directory decides; ``active``, ``added`` and ``updated`` are the node's.
_DECIDED = (
    "name",
    "ori",
    "jurisdiction",
    "kind",
    "endpoint",
    "cert_sha256",
    "cert_pem",
    "signing_key",
    "log_key",
    "witness_key",
    "sealing_key",
)


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one sync changed, by peer name."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deactivated)


def peer_of(member: Member, *, now: dt.datetime) -> Peer:
    """The peer row a directory member becomes (active)."""
    return Peer(
        node_id=NodeId(member.name),
        name=member.name,
        ori=member.ori,
        jurisdiction=Jurisdiction.parse(member.jurisdiction),
        kind=AgencyKind(member.kind),
        endpoint=member.endpoint,
        cert_sha256=member.cert_sha256,
        cert_pem=member.cert_pem.encode("ascii"),
        signing_key=bytes.fromhex(member.signing_key),
        log_key=bytes.fromhex(member.log_key),
        witness_key=bytes.fromhex(member.witness_key),
        sealing_key=bytes.fromhex(member.sealing_key),
        active=True,
        added=now,
        updated=now,
    )


def _same(a: Peer, b: Peer) -> bool:
    return a.active == b.active and all(getattr(a, f) == getattr(b, f) for f in _DECIDED)


def sync_peers(
    sessions: sessionmaker[Session],
    directory: Directory | None,
    *,
    own_name: str,
    own_cert_sha256: str,
    now: dt.datetime,
) -> SyncReport:
    """Make the peer table match ``directory`` (``None``: no valid directory, refuse all)."""
    report = SyncReport()
    wanted = {
        m.name: peer_of(m, now=now)
        for m in (directory.members if directory is not None else ())
        if m.name != own_name and m.cert_sha256 != own_cert_sha256
    }
    with session_scope(sessions) as s:
        repo = PeerRepository(s)
        known = {p.name: p for p in repo.all()}
        # Removed members first, so a refusal never waits on an addition that fails.
        for name, peer in known.items():
            if name not in wanted and peer.active:
                repo.set_active(NodeId(name), False, now=now)
                report.deactivated.append(name)
        for name, peer in wanted.items():
            current = known.get(name)
            if current is None:
                repo.add(peer)
                report.added.append(name)
                continue
            # An admin's suspension outlasts every refresh.
            peer = dataclasses.replace(
                peer, active=not current.suspended, suspended=current.suspended
            )
            if not _same(current, peer):
                repo.replace(dataclasses.replace(peer, added=current.added))
                report.updated.append(name)
    return report
