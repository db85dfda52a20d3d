"""``accord node ...``: create, run and inspect one agency's node."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from accord.commands import federation, retention
from accord.commands import reads as reads_commands
from accord.commands.holds import app as holds_app
from accord.commands.options import HomeOption
from node.config import AgencyKind

app = typer.Typer(help="Create, run and inspect this agency's node.", no_args_is_help=True)
peers_app = typer.Typer(help="Peers this node accepts calls from and calls.", no_args_is_help=True)
app.add_typer(peers_app, name="peers")
app.add_typer(retention.app, name="retention")
app.add_typer(holds_app, name="hold")
app.add_typer(federation.app, name="federation")
app.add_typer(reads_commands.cameras_app, name="cameras")
app.command(name="ingest")(reads_commands.ingest)
app.command(name="import")(reads_commands.import_)
app.command(name="reads")(reads_commands.reads)

_out = Console(highlight=False)


@app.command()
def init(
    home: HomeOption,
    name: Annotated[str, typer.Option(help="Node name, a DNS label, e.g. santa-monica-pd.")],
    ori: Annotated[str, typer.Option(help="NCIC Originating Agency Identifier, e.g. CA0194200.")],
    jurisdiction: Annotated[str, typer.Option(help="ISO 3166-2 code, e.g. US-CA.")],
    kind: Annotated[AgencyKind, typer.Option(help="The kind of agency.")],
    listen: Annotated[str, typer.Option(help="host:port to serve on.")] = "127.0.0.1:7443",
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL; default: SQLite inside the home. PostgreSQL: "
            "postgresql+psycopg://user@host/db"
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="Legal profile; default: the node's state's, or baseline.")
    ] = None,
) -> None:
    """Create a node home: keys, TLS certificate, configuration and a migrated database."""
    from node.home import init_node_home

    config, keys = init_node_home(
        home,
        name=name,
        ori=ori,
        jurisdiction=jurisdiction,
        kind=kind.value,
        listen=listen,
        database_url=database_url,
        legal_profile=profile,
        now=dt.datetime.now(dt.UTC),
    )
    table = Table(title=f"Node {config.name} created in {config.home}", show_header=False)
    table.add_row("ORI", config.ori)
    table.add_row("jurisdiction", str(config.jurisdiction))
    table.add_row("kind", config.kind.value)
    table.add_row("legal profile", config.legal_profile)
    table.add_row("listen", config.listen)
    for label, value in keys.public_summary().items():
        table.add_row(label, value)
    _out.print(table)
    _out.print("Secret keys were written with mode 0600 and are not shown.")


@app.command()
def serve(home: HomeOption) -> None:
    """Run the node's gRPC server (mutual TLS) until SIGTERM or Ctrl-C."""
    from node.app import NodeApp
    from node.logs import configure_logging

    configure_logging()

    async def run() -> None:
        node = NodeApp.open(home)
        try:
            port = await node.start()
            _out.print(f"[bold]{node.config.name}[/] serving on 127.0.0.1:{port} (mutual TLS)")
            await node.server.serve_until_signalled()
        finally:
            await node.close()

    asyncio.run(run())


@app.command()
def show(home: HomeOption) -> None:
    """Show the node's identity and public keys (never its secrets)."""
    from node.config import load_config
    from node.identity import load_node_keys

    config = load_config(home)
    keys = load_node_keys(home)
    table = Table(title=f"Node {config.name}", show_header=False)
    table.add_row("home", str(config.home))
    table.add_row("ORI", config.ori)
    table.add_row("jurisdiction", str(config.jurisdiction))
    table.add_row("kind", config.kind.value)
    table.add_row("legal profile", config.legal_profile)
    table.add_row("listen", config.listen)
    for label, value in keys.public_summary().items():
        table.add_row(label, value)
    _out.print(table)


@peers_app.command("add")
def peers_add(
    home: HomeOption,
    cert: Annotated[Path, typer.Option(help="The peer's certificate (its tls/node.crt).")],
    keys: Annotated[Path, typer.Option(help="The peer's public card (its keys/public.toml).")],
    endpoint: Annotated[str, typer.Option(help="host:port where the peer serves.")],
) -> None:
    """Pin a peer's certificate and keys so it may call this node and be called by it."""
    from node.app import add_peer_from_files

    peer = add_peer_from_files(
        home, cert_path=cert, keys_path=keys, endpoint=endpoint, now=dt.datetime.now(dt.UTC)
    )
    _out.print(
        f"peer {peer.name} ({peer.ori}, {peer.jurisdiction}) added, "
        f"certificate sha256 {peer.cert_sha256}"
    )


@peers_app.command("list")
def peers_list(home: HomeOption) -> None:
    """List the peers this node knows."""
    from node.app import list_peers

    table = Table(title="Peers")
    for col in ("name", "ORI", "jurisdiction", "kind", "endpoint", "certificate sha256", "active"):
        table.add_column(col)
    for p in list_peers(home):
        table.add_row(
            p.name,
            p.ori,
            str(p.jurisdiction),
            p.kind.value,
            p.endpoint,
            p.cert_sha256[:16] + "...",
            "no (suspended)" if p.suspended else "yes" if p.active else "no",
        )
    _out.print(table)


@peers_app.command("suspend")
def peers_suspend(
    home: HomeOption, name: Annotated[str, typer.Argument(help="The peer's node name.")]
) -> None:
    """Refuse a peer's calls from now on (its certificate leaves the trust bundle)."""
    from node.app import set_peer_active

    set_peer_active(home, name, False, now=dt.datetime.now(dt.UTC))
    _out.print(f"peer {name} suspended")


@peers_app.command("restore")
def peers_restore(
    home: HomeOption, name: Annotated[str, typer.Argument(help="The peer's node name.")]
) -> None:
    """Accept a suspended peer's calls again."""
    from node.app import set_peer_active

    set_peer_active(home, name, True, now=dt.datetime.now(dt.UTC))
    _out.print(f"peer {name} restored")
