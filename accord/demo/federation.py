"""The demo's federation operator: a broker, its members, and the nodes that join it.

The demo runs the same steps an operator and the agencies' admins would run with
``accord broker init``, ``accord broker member add`` and ``accord node federation join``:
each city is admitted from its own certificate and public card, and every node then
learns its peers only from the directory the operator key signs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from dataclasses import dataclass
from pathlib import Path

from accord.demo.cities import City
from broker.app import BrokerApp
from broker.home import init_broker_home
from broker.keys import KEYS_DIR, TLS_CERT_FILE, TLS_DIR, WITNESS_PUBLIC_FILE
from broker.members import Reachability, add_member, member_from_card, read_card, remove_member
from node.app import NodeApp, list_peers, own_card_paths
from node.federation.join import join_federation
from node.store.peers import Peer

FEDERATION = "socal-rtcc"
#: How long a signed directory is valid; the broker re-signs at half of it.
VALIDITY_S = 7 * 24 * 3600


@dataclass
class DemoBroker:
    """The running broker and what a node needs to join it."""

    app: BrokerApp
    home: Path
    port: int

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def version(self) -> int:
        return self.app.directory().version


async def start_broker(home: Path, now: dt.datetime) -> DemoBroker:
    init_broker_home(
        home, federation=FEDERATION, listen="127.0.0.1:0", validity_s=VALIDITY_S, now=now
    )
    app = BrokerApp.open(home)
    port = await app.start()
    return DemoBroker(app=app, home=home, port=port)


def join(node_home: Path, broker: DemoBroker) -> None:
    """``accord node federation join`` (before the node is opened)."""
    join_federation(
        node_home,
        broker=broker.endpoint,
        broker_cert=broker.home / TLS_DIR / TLS_CERT_FILE,
        operator_key=broker.app.home.keys.operator_public_hex,
        broker_witness=str(broker.home / KEYS_DIR / WITNESS_PUBLIC_FILE),
    )


def admit(
    broker: DemoBroker, city: City, node_home: Path, endpoint: str | None, now: dt.datetime
) -> int:
    """``accord broker member add`` from the node's own files; returns the new version."""
    cert, card = own_card_paths(node_home)
    member = member_from_card(
        read_card(cert, card),
        name=city.name,
        ori=city.ori,
        jurisdiction=city.jurisdiction,
        kind=city.kind,
        reach=Reachability(endpoint, endpoint is None),
    )
    return add_member(broker.app.home, member, now=now).directory.version


def remove(broker: DemoBroker, name: str, now: dt.datetime) -> int:
    """``accord broker member remove``; returns the new version."""
    return remove_member(broker.app.home, name, now=now).directory.version


async def fetch_directory(app: NodeApp) -> str:
    """One directory refresh at ``app``, narrated."""
    link = app.federation
    if link is None:
        raise RuntimeError(f"{app.config.name} has not joined the federation")
    report = await link.refresh_once()
    held = link.valid_directory()
    if held is None:
        raise RuntimeError(f"{app.config.name} holds no valid directory")
    peers = sorted(m.name for m in held.members if m.name != app.config.name)
    changes = [
        f"{what} {', '.join(names)}"
        for what, names in (
            ("added", report.added),
            ("updated", report.updated),
            ("deactivated", report.deactivated),
        )
        if names
    ]
    return (
        f"verified directory version {held.version} (operator signature, expiry, no "
        f"rollback); peers {', '.join(peers) or '(none)'}"
        + (f"; {'; '.join(changes)}" if changes else "")
    )


def free_port() -> int:
    """A loopback port nothing listens on now (the demo's nodes bind it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def find_peer(app: NodeApp, name: str) -> Peer:
    """``name`` as ``app``'s peers table holds it (synced from the directory)."""
    peer = next((p for p in list_peers(app.config.home) if p.name == name), None)
    if peer is None:
        raise RuntimeError(f"{app.config.name} does not know {name}")
    return peer


async def relay_attached(app: NodeApp, timeout_s: float = 20.0) -> None:
    """Wait until a relay-only node's outbound link to the broker is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        link = None if app.relay is None else app.relay.link
        if link is not None and link.connected.is_set():
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{app.config.name}'s relay link to the broker did not come up")
