"""A real broker and federated nodes for integration tests.

Everything is real: broker and node homes initialised on disk, servers on 127.0.0.1:0
with real TLS, members admitted from the nodes' own certificate and card files, nodes
joined through the same code as ``accord node federation join``, and directories fetched
over gRPC and verified. Directory refreshes are driven by the test
(``await node.federation.refresh_once()``), so nothing depends on timing.

Use::

    async with federated(tmp_path, [SMPD, CCPD]) as fed:
        smpd, ccpd = fed.nodes
        await agree(smpd, ccpd)
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from accord.v1 import broker_pb2_grpc
from broker.app import BrokerApp
from broker.directory_service import DirectoryServicer
from broker.home import init_broker_home
from broker.keys import KEYS_DIR, TLS_CERT_FILE, TLS_DIR, WITNESS_PUBLIC_FILE
from broker.members import Reachability, add_member, member_from_card, read_card
from broker.server import BrokerServer
from broker.snapshots import Snapshot
from crypto.directory import SignedDirectory, decode_directory
from node.app import NodeApp, own_card_paths
from node.federation.join import join_federation
from tests.support.federation import NodeSpec, init_homes

FEDERATION = "socal"


@dataclass
class RunningBroker:
    """A broker serving on 127.0.0.1 and what a node needs to join it."""

    app: BrokerApp
    home: Path
    port: int

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def cert_path(self) -> Path:
        return self.home / TLS_DIR / TLS_CERT_FILE

    @property
    def operator_key_hex(self) -> str:
        return self.app.home.keys.operator_public_hex

    @property
    def witness_vkey_path(self) -> Path:
        return self.home / KEYS_DIR / WITNESS_PUBLIC_FILE

    async def stop(self) -> None:
        await self.app.close()

    @contextlib.asynccontextmanager
    async def replaced_by(self, offered: SignedDirectory) -> AsyncIterator[None]:
        """Serve ``offered`` instead of the real directory, on the broker's port and with
        its TLS key (a relay or an attacker who stole the TLS key, but not the operator
        key), then bring the real broker back."""
        members = self.app.directory().members
        await self.stop()
        rogue = BrokerServer(
            name=self.app.server.name,
            tls=self.app.home.keys.tls,
            members=lambda: members,
            listen=self.endpoint,
        )
        snapshot = Snapshot(offered, decode_directory(offered.body))
        rogue.add_service(
            "accord.v1.DirectoryService",
            broker_pb2_grpc.add_DirectoryServiceServicer_to_server,
            DirectoryServicer(lambda: snapshot),
        )
        await rogue.start()
        try:
            yield
        finally:
            await rogue.stop()
            await self.restart()

    async def restart(self) -> None:
        """Serve again on the same port (after :meth:`stop`)."""
        self.app = BrokerApp.open(self.home, listen=self.endpoint)
        await self.app.start()


async def start_broker(
    home: Path, *, validity_s: int = 7 * 24 * 3600, federation: str = FEDERATION
) -> RunningBroker:
    """Initialise a broker home at ``home`` and serve it on a free loopback port."""
    init_broker_home(
        home,
        federation=federation,
        listen="127.0.0.1:0",
        validity_s=validity_s,
        now=dt.datetime.now(dt.UTC),
    )
    app = BrokerApp.open(home)
    port = await app.start()
    return RunningBroker(app=app, home=home, port=port)


def admit(
    broker: RunningBroker,
    node_home: Path,
    spec: NodeSpec,
    *,
    endpoint: str | None,
    relay_only: bool = False,
) -> Snapshot:
    """``accord broker member add`` for the node at ``node_home``, from its own files."""
    cert, card = own_card_paths(node_home)
    member = member_from_card(
        read_card(cert, card),
        name=spec.name,
        ori=spec.ori,
        jurisdiction=spec.jurisdiction,
        kind=spec.kind,
        reach=Reachability(None if relay_only else endpoint, relay_only),
    )
    return add_member(broker.app.home, member, now=dt.datetime.now(dt.UTC))


def join(node_home: Path, broker: RunningBroker, *, refresh_s: float = 3600.0) -> None:
    """``accord node federation join`` for ``node_home`` (before the node is opened)."""
    join_federation(
        node_home,
        broker=broker.endpoint,
        broker_cert=broker.cert_path,
        operator_key=broker.operator_key_hex,
        broker_witness=str(broker.witness_vkey_path),
        refresh_s=refresh_s,
    )


@dataclass
class Federation:
    broker: RunningBroker
    nodes: list[NodeApp]
    homes: list[Path]
    specs: list[NodeSpec]
    ports: list[int] = field(default_factory=list)

    async def refresh_all(self) -> None:
        """One directory refresh on every node."""
        for node in self.nodes:
            assert node.federation is not None
            await node.federation.refresh_once()


@contextlib.asynccontextmanager
async def federated(
    tmp_path: Path,
    specs: Sequence[NodeSpec],
    *,
    relay_only: Collection[str] = (),
    validity_s: int = 7 * 24 * 3600,
) -> AsyncIterator[Federation]:
    """A broker and one node per spec, every node admitted, joined and refreshed once."""
    broker = await start_broker(tmp_path / "broker", validity_s=validity_s)
    homes = init_homes(tmp_path, specs)
    for home in homes:
        join(home, broker)
    nodes = [NodeApp.open(h, listen="127.0.0.1:0") for h in homes]
    fed = Federation(broker=broker, nodes=nodes, homes=homes, specs=list(specs))
    try:
        for node in nodes:
            node.publish_interval_s = 3600  # checkpoints only when a test asks
            fed.ports.append(await node.start())
        for spec, home, port in zip(specs, homes, fed.ports, strict=True):
            admit(
                broker,
                home,
                spec,
                endpoint=f"127.0.0.1:{port}",
                relay_only=spec.name in relay_only,
            )
        await fed.refresh_all()
        yield fed
    finally:
        for node in nodes:
            await node.close()
        await broker.stop()
