"""A running broker assembled from its home: server, directory, witness, re-signing.

Use (a test, the demo, or ``accord broker serve``)::

    broker = BrokerApp.open(home, listen="127.0.0.1:0")
    broker.server.add_service(name, add_XServicer_to_server, servicer)   # e.g. the relay
    port = await broker.start()
    ...
    await broker.close()

Member commands may run in another process meanwhile: every call reads the snapshot file
being served, so a change is served (and its trust bundle used) as soon as it is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from accord.v1 import broker_pb2_grpc, ledger_pb2_grpc
from broker.directory_service import BrokerWitnessServicer, DirectoryServicer
from broker.home import WITNESS_DIR, BrokerHome
from broker.keys import broker_tls_name
from broker.relay_service import RelayServicer, relay_service
from broker.server import BrokerServer
from broker.snapshots import Snapshot
from broker.witness import BrokerWitness
from crypto.directory import Directory, Member

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class BrokerApp:
    """Everything a running broker holds."""

    home: BrokerHome
    server: BrokerServer
    witness: BrokerWitness
    clock: Clock = _utc_now
    #: How often the re-sign check runs (seconds); it re-signs at half the validity.
    resign_check_s: float = 60.0
    #: How often the served directory's version is looked at: when it changes (a member
    #: removed or its certificate replaced, by the CLI or in process), the relay closes
    #: the streams of members that no longer qualify at once, not at their next heartbeat.
    directory_check_s: float = 1.0
    _seen_version: int = 0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def open(cls, home: Path, *, listen: str | None = None, clock: Clock = _utc_now) -> BrokerApp:
        """Load and check the broker at ``home``; nothing listens yet."""
        opened = BrokerHome.open(home)
        config = opened.config

        def members() -> Sequence[Member]:
            return opened.current().directory.members

        server = BrokerServer(
            name=broker_tls_name(config.federation),
            tls=opened.keys.tls,
            members=members,
            listen=listen or config.listen,
        )
        witness = BrokerWitness(
            config.home / WITNESS_DIR,
            opened.keys.witness_signer(config.federation),
            members,
            clock=clock,
        )
        app = cls(home=opened, server=server, witness=witness, clock=clock)
        app.resign_check_s = min(60.0, max(0.05, config.validity_s / 4))
        server.add_service(
            "accord.v1.DirectoryService",
            broker_pb2_grpc.add_DirectoryServiceServicer_to_server,
            DirectoryServicer(opened.current),
        )
        server.add_service(
            "accord.v1.WitnessService",
            ledger_pb2_grpc.add_WitnessServiceServicer_to_server,
            BrokerWitnessServicer(witness),
        )
        server.add_service(*relay_service(members))
        return app

    @property
    def federation(self) -> str:
        return self.home.config.federation

    def directory(self) -> Directory:
        """The directory being served now (what the relay routes by)."""
        return self.home.current().directory

    def member(self, name: str) -> Member | None:
        return self.directory().member(name)

    async def start(self) -> int:
        """Re-sign if due, start serving and the re-sign loop; returns the bound port."""
        await asyncio.to_thread(self.home.resign_if_due, now=self.clock())
        port = await self.server.start()
        self._tasks.append(asyncio.create_task(self._resign_loop(), name="directory-resign"))
        self._seen_version = self.directory().version
        self._tasks.append(asyncio.create_task(self._watch_directory(), name="directory-watch"))
        return port

    async def resign_once(self) -> Snapshot | None:
        snapshot = await asyncio.to_thread(self.home.resign_if_due, now=self.clock())
        if snapshot is not None:
            log.info(
                "directory re-signed as version %d (expires %s)",
                snapshot.directory.version,
                dt.datetime.fromtimestamp(snapshot.directory.expires_ms / 1000, dt.UTC),
            )
        return snapshot

    async def _resign_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resign_check_s)
            try:
                await self.resign_once()
            except Exception:
                log.exception("re-signing the directory failed")

    def check_directory(self) -> bool:
        """Whether the served directory changed since the last look; if it did, the relay
        closes at once the streams of members that no longer qualify."""
        version = self.directory().version
        if version == self._seen_version:
            return False
        self._seen_version = version
        for service in self.server.services:
            if isinstance(service.servicer, RelayServicer):
                service.servicer.directory_changed()
        return True

    async def _watch_directory(self) -> None:
        while True:
            await asyncio.sleep(self.directory_check_s)
            try:
                self.check_directory()
            except Exception:
                log.exception("reading the served directory failed")

    async def close(self) -> None:
        """Stop re-signing and serving (gracefully)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.server.stop()
