"""Runs the demo federation in one process and narrates what happens.

Each step is recorded with its outcome; the demo exits non-zero if any step failed, so it
doubles as a smoke test of a fresh installation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from accord.demo.auditor import REPORT_DIR, check_federation, export_and_verify, publish_report
from accord.demo.cities import CITIES, City
from accord.demo.exchange import READS_PER_CITY, Learned, run_exchange
from accord.demo.federation import (
    FEDERATION,
    DemoBroker,
    admit,
    fetch_directory,
    find_peer,
    free_port,
    join,
    relay_attached,
    start_broker,
)
from accord.demo.steps import StepLog
from node.app import NodeApp, own_card_paths
from node.home import init_node_home
from node.rpc.client import check_health, peer_channel


@dataclass(frozen=True, slots=True)
class DemoOptions:
    #: Cities listed as reachable only through the broker's relay.
    relay_only: frozenset[str] = frozenset()
    reads_per_city: int = READS_PER_CITY


async def run_demo(
    base: Path, *, keep: bool, console: Console, options: DemoOptions | None = None
) -> int:
    """Run the demo in ``base``; returns the number of failed steps."""
    options = options or DemoOptions()
    log = StepLog(console)
    now = dt.datetime.now(dt.UTC)
    console.rule("[bold]Accord demo: a federation of city police nodes on loopback")
    console.print(
        f"Files go to [bold]{base}[/]. "
        "Each node gets its own keys, certificate and SQLite database.\n"
    )
    base.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    homes: dict[str, Path] = {c.name: base / c.name for c in CITIES}

    broker: DemoBroker | None = None
    apps: dict[str, NodeApp] = {}
    ports: dict[str, int] = {}
    try:

        async def operator() -> str:
            nonlocal broker
            broker = await start_broker(base / "broker", now)
            key = broker.app.home.keys.operator_public_hex
            return (
                f"federation {FEDERATION}: signed directory, relay and witness on "
                f"127.0.0.1:{broker.port}; operator key {key[:16]}..."
            )

        await log.run("start the federation broker", operator)
        for city in CITIES:
            ports[city.name] = free_port()
            await log.run(
                f"create node {city.name}",
                _init(city, homes[city.name], f"127.0.0.1:{ports[city.name]}", now, broker),
            )

        # Members are admitted before they start, as in a real federation (the operator
        # lists an agency's endpoint before it goes live), so their first checkpoint
        # already finds the broker's witness willing.
        for city in CITIES:
            if broker is None or not (homes[city.name] / "accord.toml").exists():
                continue

            async def member(city: City = city, b: DemoBroker = broker) -> str:
                if city.name in options.relay_only:
                    version = admit(b, city, homes[city.name], None, now)
                    return f"admitted as reachable only through the relay; version {version}"
                endpoint = f"127.0.0.1:{ports[city.name]}"
                version = admit(b, city, homes[city.name], endpoint, now)
                return f"admitted at {endpoint}; directory version {version}"

            await log.run(f"the operator admits {city.name}", member)

        for city in CITIES:
            if not (homes[city.name] / "accord.toml").exists():
                continue

            async def start(city: City = city) -> str:
                app = NodeApp.open(homes[city.name])
                await app.start()
                apps[city.name] = app
                return f"{city.label} serving mutual TLS on 127.0.0.1:{ports[city.name]}"

            await log.run(f"start {city.name}", start)

        for name, app in apps.items():

            async def fetch(app: NodeApp = app) -> str:
                return await fetch_directory(app)

            await log.run(f"{name} fetches the directory", fetch)

        for a, b in itertools.permutations(apps, 2):

            async def health(a: str = a, b: str = b) -> str:
                if b in options.relay_only:
                    await relay_attached(apps[b])
                    channel = apps[a].peer_channel(find_peer(apps[a], b))
                    status = await check_health(channel, b)
                    return f"{b} answers {status} to {a} through the broker's relay, sealed"
                cert, _ = own_card_paths(homes[b])
                async with peer_channel(
                    own_name=a,
                    own_tls=apps[a].keys.tls,
                    peer_name=b,
                    peer_cert_pem=cert.read_bytes(),
                    endpoint=f"127.0.0.1:{ports[b]}",
                ) as channel:
                    status = await check_health(channel, b)
                return f"{b} answers {status} to {a} over mutual TLS"

            await log.run(f"{a} checks {b}'s health", health)

        learned = Learned()
        if len(apps) == len(CITIES):
            await run_exchange(
                log, apps, base, now, console, learned, broker, options.reads_per_city
            )

        for name, app in apps.items():

            async def cosign(name: str = name, app: NodeApp = app) -> str:
                await app.recorder.record(
                    "admin.action",
                    action="demo.federation-joined",
                    actor=app.recorder.actor("demo-admin"),
                    detail=f"peers from the signed directory of {FEDERATION}",
                )
                app.heartbeat_s = 0  # sign now, even if the background round just did
                cp = await app.publish_once()
                app.heartbeat_s = 60
                if cp is None:
                    raise RuntimeError("no checkpoint was signed")
                note = app.publisher.cosigned_note(cp)
                cosigners = [
                    ln.split()[1] for ln in note.decode().splitlines() if "/witness " in ln
                ]
                return f"checkpoint of size {cp.size} cosigned by {', '.join(cosigners)}"

            await log.run(f"{name}'s ledger is witnessed by its peers and the broker", cosign)

        for name, app in apps.items():

            async def audit(name: str = name, app: NodeApp = app) -> str:
                return await export_and_verify(app, homes[name], quorum=len(apps))

            await log.run(f"audit {name}'s ledger", audit)

        exports = [homes[name] for name in apps]

        async def compliance() -> str:
            return await asyncio.to_thread(check_federation, exports)

        async def transparency() -> str:
            return await asyncio.to_thread(publish_report, exports, base / REPORT_DIR)

        await log.run("accord audit check across the federation", compliance)
        await log.run("accord audit report: the public transparency report", transparency)

        relayed = sorted(options.relay_only)
        learned.lines.append(
            "The broker learned the members it admitted and the checkpoint sizes and roots "
            "it cosigned"
            + (
                f"; for {', '.join(relayed)}, behind its relay, who called whom, when and "
                "how many sealed bytes it could not open"
                if relayed
                else ""
            )
            + ". It holds no plate, label, query or answer."
        )
        _summary(console, log, learned)
        if keep and log.failed == 0:
            console.print("\nThe federation keeps running; press Ctrl-C to stop it.")
            if broker is not None:
                console.print(f"  broker: {broker.endpoint}   home {broker.home}")
            for name, port in ports.items():
                console.print(f"  {name}: 127.0.0.1:{port}   home {homes[name]}")
            smpd = homes[CITIES[0].name]
            console.print(
                "Try, for example:\n"
                f"  accord query hits --dir {smpd} --peer culver-city-pd --plate 6TRJ244 "
                "--purpose homicide --case 26-00412 --user detective-ramos --days 7\n"
                f"  accord agreement list --dir {smpd}\n"
                f"  accord broker member list --dir {base / 'broker'}",
                soft_wrap=True,
            )
            await asyncio.Event().wait()
    finally:
        for app in apps.values():
            await app.close()
        if broker is not None:
            await broker.app.close()
    return log.failed


def _init(
    city: City, home: Path, listen: str, now: dt.datetime, broker: DemoBroker | None
) -> Callable[[], Awaitable[str]]:
    async def action() -> str:
        if broker is None:
            raise RuntimeError("no broker to join")
        config, _ = init_node_home(
            home,
            name=city.name,
            ori=city.ori,
            jurisdiction=city.jurisdiction,
            kind=city.kind,
            listen=listen,
            now=now,
        )
        join(home, broker)
        return (
            f"{city.label} ({config.ori}, {config.jurisdiction}, profile "
            f"{config.legal_profile}), joined {FEDERATION}"
        )

    return action


def _summary(console: Console, log: StepLog, learned: Learned) -> None:
    table = Table(title="What happened", show_lines=False)
    table.add_column("step")
    table.add_column("outcome")
    for title, ok, _detail in log.steps:
        table.add_row(title, "[green]ok[/]" if ok else "[red]FAILED[/]")
    console.print()
    console.print(table)
    if log.failed:
        console.print(f"[red]{log.failed} step(s) failed.[/]")
    else:
        console.print(
            "[green]Every step succeeded.[/] No plate left any node, not even hashed: "
            "queries travelled blinded, hits were matched by the asker against encrypted "
            "index entries, and every exchange is on both ledgers, witnessed and audited."
        )
    for line in learned.lines:
        console.print(f"  - {line}")
