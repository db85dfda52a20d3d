"""A node assembled from its home directory: config, keys, store and server.

``NodeApp.open(home)`` checks everything before anything listens: the configuration, the
key files' permissions, that the database is reachable and at the schema this code knows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from node.config import AgencyKind, NodeConfig, load_config
from node.errors import ConfigError
from node.identity import KEYS_DIR, PUBLIC_FILE, NodeKeys, load_node_keys
from node.ids import NodeId
from node.peer_card import read_peer_card
from node.rpc.peers import KnownPeer
from node.server import NodeServer, ServiceRegistration
from node.store.db import create_engine, session_factory, session_scope
from node.store.errors import NotFoundError
from node.store.migrate import check_schema
from node.store.peers import Peer, PeerRepository


class StorePeers:
    """The peer table as the server's :class:`~node.rpc.peers.PeerResolver`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def by_fingerprint(self, cert_sha256: str) -> KnownPeer | None:
        with session_scope(self._sessions) as s:
            peer = PeerRepository(s).by_fingerprint(cert_sha256)
        return None if peer is None else _known(peer)

    def trusted_certificates(self) -> Sequence[bytes]:
        with session_scope(self._sessions) as s:
            return [p.cert_pem for p in PeerRepository(s).all(active_only=True)]


def _known(peer: Peer) -> KnownPeer:
    return KnownPeer(
        name=peer.name,
        cert_sha256=peer.cert_sha256,
        cert_pem=peer.cert_pem,
        endpoint=peer.endpoint,
        active=peer.active,
    )


@dataclass
class NodeApp:
    """Everything a running node holds."""

    config: NodeConfig
    keys: NodeKeys
    engine: Engine
    sessions: sessionmaker[Session]
    server: NodeServer
    services: list[ServiceRegistration] = field(default_factory=list)

    @classmethod
    def open(cls, home: Path, *, listen: str | None = None) -> NodeApp:
        """Load and check the node at ``home``; nothing is started yet."""
        config = load_config(home)
        keys = load_node_keys(home)
        engine = create_engine(config.database_url, must_exist=True)
        try:
            check_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        sessions = session_factory(engine)
        server = NodeServer(
            name=config.name,
            tls=keys.tls,
            peers=StorePeers(sessions),
            listen=listen or config.listen,
        )
        return cls(config=config, keys=keys, engine=engine, sessions=sessions, server=server)

    async def start(self) -> int:
        """Start serving; returns the bound port."""
        self.server.services = list(self.services)
        return await self.server.start()

    async def close(self) -> None:
        """Stop the server (gracefully) and release the database."""
        await self.server.stop()
        self.engine.dispose()


def _open_store(home: Path) -> tuple[NodeConfig, Engine, sessionmaker[Session]]:
    config = load_config(home)
    engine = create_engine(config.database_url, must_exist=True)
    try:
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return config, engine, session_factory(engine)


def add_peer_from_files(
    home: Path,
    *,
    cert_path: Path,
    keys_path: Path,
    endpoint: str,
    now: dt.datetime,
) -> Peer:
    """Pin a peer from its certificate and public card (``keys/public.toml``)."""
    card = read_peer_card(keys_path, cert_path)
    _, engine, sessions = _open_store(home)
    try:
        if card.cert_sha256 == _own_fingerprint(home):
            raise ConfigError(cert_path, "is this node's own certificate")
        with session_scope(sessions) as s:
            return PeerRepository(s).add(
                Peer(
                    node_id=NodeId(card.name),
                    name=card.name,
                    ori=card.ori,
                    jurisdiction=card.jurisdiction,
                    kind=card.kind,
                    endpoint=endpoint,
                    cert_sha256=card.cert_sha256,
                    cert_pem=card.cert_pem,
                    signing_key=card.signing_key,
                    log_key=card.log_key,
                    witness_key=card.witness_key,
                    sealing_key=card.sealing_key,
                    active=True,
                    added=now,
                    updated=now,
                )
            )
    finally:
        engine.dispose()


def _own_fingerprint(home: Path) -> str:
    from node.identity import certificate_fingerprint_of

    return certificate_fingerprint_of(home)


def list_peers(home: Path) -> list[Peer]:
    """Every peer the node at ``home`` knows, active or not."""
    _, engine, sessions = _open_store(home)
    try:
        with session_scope(sessions) as s:
            return PeerRepository(s).all()
    finally:
        engine.dispose()


def set_peer_active(home: Path, name: str, active: bool, *, now: dt.datetime) -> Peer:
    """Suspend or restore a peer; a suspended peer's calls are refused at once."""
    _, engine, sessions = _open_store(home)
    try:
        with session_scope(sessions) as s:
            repo = PeerRepository(s)
            if repo.get(NodeId(name)) is None:
                raise NotFoundError(f"no peer named {name}")
            return repo.set_active(NodeId(name), active, now=now)
    finally:
        engine.dispose()


def own_card_paths(home: Path) -> tuple[Path, Path]:
    """The certificate and card a node hands to its neighbours."""
    return home / "tls" / "node.crt", home / KEYS_DIR / PUBLIC_FILE


__all__ = ["AgencyKind", "NodeApp", "StorePeers", "add_peer_from_files", "list_peers"]
