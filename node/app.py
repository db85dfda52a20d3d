"""A node assembled from its home directory: config, keys, store and server.

``NodeApp.open(home)`` checks everything before anything listens: the configuration, the
key files' permissions, that the database is reachable and at the schema this code knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc.aio
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crypto.note import NoteVerifier
from node.config import AgencyKind, NodeConfig, load_config
from node.errors import ConfigError
from node.exchange.agreements import AgreementDesk
from node.exchange.alerts import AlertWatcher, WatchedPlate
from node.exchange.answering import Answerer
from node.exchange.asking import QueryDesk
from node.exchange.epoch_keys import EpochKeys
from node.exchange.indexer import Indexer
from node.federation.errors import FederatedPeersError
from node.federation.held import load_held
from node.federation.link import FederationLink
from node.hotlists.categories import allowed_categories
from node.hotlists.store import active_entries
from node.identity import KEYS_DIR, PUBLIC_FILE, NodeKeys, load_node_keys
from node.ids import LogId, NodeId
from node.ledger.log import LedgerLog
from node.ledger.names import (
    log_origin,
    log_signer,
    log_verifier,
    witness_signer,
    witness_verifier,
)
from node.ledger.publisher import Publisher, WitnessClient
from node.ledger.recorder import Recorder
from node.ledger.witness import Witness
from node.peer_card import read_peer_card
from node.policy import PolicyEngine
from node.policy.profile import LegalProfile
from node.relay.node_relay import NodeRelay, federated_relay
from node.retention.holds import HoldDesk
from node.retention.purge import Purger, purge_hourly
from node.retention.settings import load_settings
from node.rpc.agreement_client import GrpcAgreementTransport
from node.rpc.agreement_service import agreement_service
from node.rpc.client import peer_channel
from node.rpc.exchange_client import GrpcExchangeTransport
from node.rpc.exchange_service import ExchangeServicer, exchange_service
from node.rpc.ledger_service import grpc_witness_call, ledger_services
from node.rpc.node_admin_service import NodeAdminServicer, node_admin_service
from node.rpc.peers import KnownPeer
from node.server import NodeServer, ServiceRegistration
from node.store.db import create_engine, session_factory, session_scope
from node.store.errors import NotFoundError
from node.store.hotlists import HotlistRepository
from node.store.ledger import StoredCheckpoint
from node.store.migrate import check_schema
from node.store.peers import Peer, PeerRepository

log = logging.getLogger(__name__)


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
    ledger: LedgerLog
    publisher: Publisher
    witness: Witness
    recorder: Recorder
    services: list[ServiceRegistration] = field(default_factory=list)
    publish_interval_s: float = 1.0
    heartbeat_s: float = 60.0
    #: Extra client interceptors on channels to peers (tests record what crosses the wire).
    channel_interceptors: list[grpc.aio.ClientInterceptor] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    _publish_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: Agreements with peers (set by :meth:`open`; the admin API and exchange use it).
    agreements: AgreementDesk = field(init=False)
    #: Private matching (set by :meth:`open`).
    indexer: Indexer = field(init=False)
    queries: QueryDesk = field(init=False)
    alerts: AlertWatcher = field(init=False)
    #: Plates to watch instead of the hotlists (tests).
    hotlist_override: list[WatchedPlate] | None = None
    _profile: LegalProfile = field(init=False)
    #: Deletes expired epochs (set by :meth:`open`); runs at start and every hour.
    retention: Purger = field(init=False)
    retention_interval_s: float = 3600.0
    #: Case holds (set by :meth:`open`); added and released under the purge's lock.
    holds: HoldDesk = field(init=False)
    #: The federation directory link, when ``[federation]`` is configured (its peers then
    #: come only from the broker's signed directory).
    federation: FederationLink | None = None
    #: The broker relay of a federated node (set by :meth:`start`): routes calls to
    #: relay-only peers, and keeps this node reachable while it is relay-only itself.
    relay: NodeRelay | None = None

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
        ledger = LedgerLog(sessions, LogId(log_origin(config.name)))
        publisher = Publisher(ledger, sessions, log_signer(config.name, keys.log))

        def witnessed_logs() -> dict[str, NoteVerifier]:
            with session_scope(sessions) as s:
                peers = PeerRepository(s).all(active_only=True)
            return {log_origin(p.name): log_verifier(p.name, p.log_key) for p in peers}

        witness = Witness(sessions, witness_signer(config.name, keys.witness), witnessed_logs)
        recorder = Recorder(ledger, node_name=config.name, actor_key=keys.actor)
        app = cls(
            config=config,
            keys=keys,
            engine=engine,
            sessions=sessions,
            server=server,
            ledger=ledger,
            publisher=publisher,
            witness=witness,
            recorder=recorder,
        )
        if config.federation is not None:
            app.federation = FederationLink(
                home=config.home,
                settings=config.federation,
                own_name=config.name,
                own_tls=keys.tls,
                sessions=sessions,
            )
        app.services = ledger_services(ledger, publisher, witness)
        app.agreements = AgreementDesk(
            sessions=sessions,
            config=config,
            signing_key=keys.signing,
            recorder=recorder,
            policy=PolicyEngine(config.legal_profile),
            transport=GrpcAgreementTransport(app.peer_channel),
        )
        app.services.append(agreement_service(app.agreements))
        app._open_exchange()
        # Settings are re-read at every run, so `accord node retention set` takes effect
        # without a restart.
        app.retention = Purger(
            sessions=sessions,
            engine=engine,
            ledger=ledger,
            recorder=recorder,
            settings=lambda: load_settings(home),
        )
        app.holds = HoldDesk(
            sessions,
            recorder=recorder,
            lookup_key=keys.lookup,
            settings=lambda: load_settings(home),
            lock=app.retention.lock,
        )
        return app

    def _open_exchange(self) -> None:
        """Private matching: the indexer and answerer (responder), the query desk
        (requester), and the admin API that lets this node's own users reach both."""
        config, sessions = self.config, self.sessions
        epoch_keys = EpochKeys(sessions, self.recorder)
        self.indexer = Indexer(
            sessions,
            lookup_key=self.keys.lookup,
            epoch_keys=epoch_keys,
            node_name=config.name,
            city=f"{config.name} ({config.jurisdiction})",
        )
        engine = PolicyEngine(config.legal_profile)
        self._profile = engine.profile
        answerer = Answerer(
            sessions,
            node_name=config.name,
            engine=engine,
            recorder=self.recorder,
            epoch_keys=epoch_keys,
            ledger=self.ledger,
            checkpoint_now=self.checkpoint_now,
        )
        transport = GrpcExchangeTransport(self.peer_channel)
        self.queries = QueryDesk(
            sessions,
            config=config,
            signing_key=self.keys.signing,
            recorder=self.recorder,
            transport=transport,
        )
        self.alerts = AlertWatcher(
            sessions,
            desk=self.queries,
            recorder=self.recorder,
            stream=transport,
            hotlist=self.watched_plates,
            hotlist_revision=self.hotlist_revision,
            webhook=config.alerts_webhook,
        )
        self.services.append(exchange_service(ExchangeServicer(sessions, answerer, self.indexer)))
        self.services.append(
            node_admin_service(
                NodeAdminServicer(
                    agreements=self.agreements,
                    queries=self.queries,
                    alerts=self.alerts,
                    retention_side=self,  # its retention and holds, read at call time
                )
            )
        )

    def watched_plates(self) -> list[WatchedPlate]:
        """This node's active hotlist entries of the categories its own legal profile lets
        it match, for the alert watcher (the plates stay in this node)."""
        if self.hotlist_override is not None:
            return list(self.hotlist_override)
        now = dt.datetime.now(dt.UTC)
        with session_scope(self.sessions) as s:
            entries = active_entries(s, now=now)
        allowed = allowed_categories(
            self._profile,
            {e.category for e in entries},
            ori=self.config.ori,
            jurisdiction=self.config.jurisdiction,
            kind=self.config.kind,
        )
        return [
            WatchedPlate(e.plate, e.hotlist_id, e.case_number, e.category)
            for e in entries
            if e.category in allowed
        ]

    def hotlist_revision(self) -> object:
        """A mark that changes whenever :meth:`watched_plates` may have: the alert watcher
        looks at it every poll and re-arms on a change, without opening the hotlist."""
        if self.hotlist_override is not None:
            return tuple(self.hotlist_override)
        with session_scope(self.sessions) as s:
            return HotlistRepository(s).revision(now=dt.datetime.now(dt.UTC))

    async def checkpoint_now(self) -> StoredCheckpoint:
        """Sign a checkpoint of everything logged so far (for an inclusion receipt)."""
        async with self._publish_lock:
            return await asyncio.to_thread(self.publisher.sign)

    async def start(self) -> int:
        """Open the ledger, start serving and publishing; returns the bound port."""
        await self.ledger.open()
        if self.federation is not None:
            await self.federation.start()  # the held directory's peers, before serving
        self.server.services = list(self.services)
        port = await self.server.start()
        await self.recorder.record(
            "admin.action",
            action="node.start",
            actor=self.recorder.actor("system"),
            detail="started",
        )
        await self.retention.declare()  # the retention settings it applies, right after
        self._tasks.append(asyncio.create_task(self._publish_loop(), name="ledger-publisher"))
        self._tasks.append(asyncio.create_task(self.indexer.run(), name="indexer"))
        self._tasks.append(asyncio.create_task(self.alerts.run(), name="alerts"))
        self._tasks.append(
            asyncio.create_task(
                purge_hourly(self.retention, interval_s=self.retention_interval_s),
                name="retention",
            )
        )
        if self.federation is not None:
            self._tasks.append(asyncio.create_task(self.federation.run(), name="federation"))
            self.relay = federated_relay(
                own_name=self.config.name,
                keys=self.keys,
                federation=self.federation,
                sessions=self.sessions,
            )
            self.relay.start([*self.services, self.server.health_registration()], self.server.peers)
        return port

    def peer_channel(self, peer: Peer) -> grpc.aio.Channel:
        """A (cached) mutual-TLS channel to an active peer, or one through the broker's
        relay to a peer the directory lists as relay-only."""
        if self.relay is not None and self.relay.routes_through_relay(peer):
            return self.relay.channel_for(peer)
        channel = self._channels.get(peer.name)
        if channel is None:
            channel = peer_channel(
                own_name=self.config.name,
                own_tls=self.keys.tls,
                peer_name=peer.name,
                peer_cert_pem=peer.cert_pem,
                endpoint=peer.endpoint,
                interceptors=self.channel_interceptors,
            )
            self._channels[peer.name] = channel
        return channel

    def _active_peers(self) -> list[Peer]:
        with session_scope(self.sessions) as s:
            return PeerRepository(s).all(active_only=True)

    def _refresh_witnesses(self, peers: list[Peer]) -> None:
        """Witness every active peer; channels are made here, on the event loop's thread."""
        current = {w.verifier.name: w for w in self.publisher.witnesses}
        refreshed = []
        for p in peers:
            verifier = witness_verifier(p.name, p.witness_key)
            known = current.get(verifier.name)
            if known is not None and known.verifier == verifier:
                refreshed.append(known)
            else:
                refreshed.append(WitnessClient(verifier, grpc_witness_call(self.peer_channel(p))))
        broker = self.federation.settings.witness_verifier() if self.federation else None
        if self.federation is not None and broker is not None:
            known = current.get(broker.name)
            if known is None or known.verifier != broker:
                known = WitnessClient(broker, self.federation.witness_call())
            refreshed.append(known)
        self.publisher.witnesses = refreshed

    async def publish_once(self) -> StoredCheckpoint | None:
        """Sign a checkpoint if due and gather cosignatures from peer witnesses.

        Returns the latest checkpoint (new or not) once witnesses were asked.
        """
        async with self._publish_lock:
            self._refresh_witnesses(await asyncio.to_thread(self._active_peers))
            await asyncio.to_thread(self.publisher.maybe_sign, heartbeat_s=self.heartbeat_s)
            latest = await asyncio.to_thread(self.publisher.latest)
            if latest is not None and self.publisher.witnesses:
                await self.publisher.gather_cosignatures(latest)
            return latest

    async def _publish_loop(self) -> None:
        while True:
            try:
                await self.publish_once()
            except Exception:
                log.exception("publishing a checkpoint failed")
            await asyncio.sleep(self.publish_interval_s)

    async def close(self) -> None:
        """Stop publishing and serving (gracefully), flush the ledger, release the store."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.server.stop()
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
        if self.relay is not None:
            await self.relay.close()
        if self.federation is not None:
            await self.federation.close()
        await self.ledger.close()
        self.engine.dispose()


def open_store(home: Path) -> tuple[NodeConfig, Engine, sessionmaker[Session]]:
    """The node's configuration and database, checked to be at this code's schema.

    For admin commands that work on the store directly; the caller disposes the engine.
    """
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
    config, engine, sessions = open_store(home)
    if config.federation is not None:
        engine.dispose()
        raise FederatedPeersError(
            f"{config.name} is federated: its peers come only from the broker's signed "
            f"directory ({config.federation.broker}); ask the federation operator to run "
            "`accord broker member add`"
        )
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
    _, engine, sessions = open_store(home)
    try:
        with session_scope(sessions) as s:
            return PeerRepository(s).all()
    finally:
        engine.dispose()


def set_peer_active(home: Path, name: str, active: bool, *, now: dt.datetime) -> Peer:
    """Suspend or restore a peer; a suspended peer's calls are refused at once.

    On a federated node the suspension is this node's own and outlasts directory
    refreshes; a restored peer is active again only if the held directory (valid now)
    still lists it.
    """
    config, engine, sessions = open_store(home)
    try:
        listed = True
        if active and config.federation is not None:
            held = load_held(home, config.federation.operator_key)
            now_ms = int(now.timestamp() * 1000)
            listed = (
                held is not None
                and now_ms < held[1].expires_ms
                and held[1].member(name) is not None
            )
        with session_scope(sessions) as s:
            repo = PeerRepository(s)
            if repo.get(NodeId(name)) is None:
                raise NotFoundError(f"no peer named {name}")
            return repo.set_suspended(NodeId(name), not active, active=active and listed, now=now)
    finally:
        engine.dispose()


def own_card_paths(home: Path) -> tuple[Path, Path]:
    """The certificate and card a node hands to its neighbours."""
    return home / "tls" / "node.crt", home / KEYS_DIR / PUBLIC_FILE


__all__ = ["AgencyKind", "NodeApp", "StorePeers", "add_peer_from_files", "list_peers"]


def audit_policy_text(home: Path, *, quorum: int) -> str:
    """A verification policy for this node's log: its key and its peers' witness keys."""
    from node.identity import load_node_keys

    config, engine, sessions = open_store(home)
    try:
        with session_scope(sessions) as s:
            peers = PeerRepository(s).all(active_only=True)
    finally:
        engine.dispose()
    log_key = log_signer(config.name, load_node_keys(home).log).verifier.vkey()
    witnesses = [witness_verifier(p.name, p.witness_key).vkey() for p in peers]
    broker = config.federation.witness_verifier() if config.federation else None
    if broker is not None:
        witnesses.append(broker.vkey())
    if not 0 < quorum <= len(witnesses):
        raise ConfigError(home / "accord.toml", f"quorum {quorum} needs that many peer witnesses")
    lines = [f'log = "{log_key}"', "witnesses = ["]
    lines += [f'    "{w}",' for w in witnesses]
    lines += ["]", f"quorum = {quorum}", ""]
    return "\n".join(lines)


async def export_ledger(home: Path, out: Path) -> int:
    """Export the node's log up to its latest checkpoint as static tiles in ``out``."""
    from node.ledger.export import export_tiles

    app = NodeApp.open(home)
    try:
        return await asyncio.to_thread(export_tiles, app.ledger, app.publisher, app.sessions, out)
    finally:
        app.engine.dispose()
