"""``accord broker ...``: run a federation's broker and manage its member directory."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from broker.snapshots import Snapshot

app = typer.Typer(
    help="The federation broker: signed member directory, relay and witness.",
    no_args_is_help=True,
)
member_app = typer.Typer(help="Members of the federation directory.", no_args_is_help=True)
app.add_typer(member_app, name="member")

_out = Console(highlight=False)

BrokerHomeOption = Annotated[
    Path,
    typer.Option("--dir", "-d", help="The broker home directory.", envvar="ACCORD_BROKER_HOME"),
]
EndpointOption = Annotated[
    str | None, typer.Option(help="host:port where the member serves (or --relay-only).")
]
RelayOnlyOption = Annotated[
    bool, typer.Option("--relay-only", help="The member accepts no inbound connections.")
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _published(snapshot: Snapshot) -> str:
    d = snapshot.directory
    expires = dt.datetime.fromtimestamp(d.expires_ms / 1000, dt.UTC).isoformat(timespec="seconds")
    return f"directory version {d.version} published ({len(d.members)} members, expires {expires})"


@app.command()
def init(
    home: BrokerHomeOption,
    federation: Annotated[str, typer.Option(help="Federation name, a DNS label, e.g. socal.")],
    listen: Annotated[str, typer.Option(help="host:port to serve on.")] = "127.0.0.1:7400",
    validity_days: Annotated[
        float, typer.Option(help="How long each published directory is valid.")
    ] = 7.0,
) -> None:
    """Create a broker home: operator, witness and TLS keys, config, an empty directory."""
    from broker.errors import BrokerSetupError
    from broker.home import init_broker_home
    from broker.keys import KEYS_DIR, OPERATOR_PUBLIC_FILE, TLS_CERT_FILE, WITNESS_PUBLIC_FILE

    if not 0 < validity_days <= 366:
        raise BrokerSetupError("--validity-days must be more than 0 and at most 366")
    config, keys = init_broker_home(
        home,
        federation=federation,
        listen=listen,
        validity_s=max(1, round(validity_days * 86400)),
        now=_now(),
    )
    table = Table(
        title=f"Broker of {config.federation} created in {config.home}", show_header=False
    )
    table.add_row("listen", config.listen)
    table.add_row("operator key", keys.operator_public_hex)
    table.add_row("witness key", keys.witness_signer(config.federation).verifier.vkey())
    table.add_row("certificate sha256", keys.tls.fingerprint)
    table.add_row("give members", f"{config.home}/tls/{TLS_CERT_FILE}")
    table.add_row("", f"{config.home}/{KEYS_DIR}/{OPERATOR_PUBLIC_FILE}")
    table.add_row("", f"{config.home}/{KEYS_DIR}/{WITNESS_PUBLIC_FILE}")
    _out.print(table)
    _out.print("Secret keys were written with mode 0600 and are not shown.")


@app.command()
def serve(home: BrokerHomeOption) -> None:
    """Serve the directory and the witness (TLS, members only) until SIGTERM or Ctrl-C."""
    from broker.app import BrokerApp
    from node.logs import configure_logging

    configure_logging()

    async def run() -> None:
        broker = BrokerApp.open(home)
        try:
            port = await broker.start()
            _out.print(f"broker of [bold]{broker.federation}[/] serving on port {port} (TLS)")
            await broker.server.serve_until_signalled()
        finally:
            await broker.close()

    asyncio.run(run())


@app.command()
def publish(home: BrokerHomeOption) -> None:
    """Re-sign the current members as a new version with a fresh validity."""
    from broker.home import BrokerHome

    _out.print(_published(BrokerHome.open(home).publish(now=_now())))


@member_app.command("add")
def member_add(
    home: BrokerHomeOption,
    name: Annotated[str, typer.Option(help="The member node's name.")],
    ori: Annotated[str, typer.Option(help="Its NCIC ORI.")],
    jurisdiction: Annotated[str, typer.Option(help="ISO 3166-2 code, e.g. US-CA.")],
    kind: Annotated[str, typer.Option(help="municipal, county, state, federal, tribal, private.")],
    cert: Annotated[Path, typer.Option(help="The node's certificate (its tls/node.crt).")],
    keys: Annotated[Path, typer.Option(help="The node's public card (its keys/public.toml).")],
    endpoint: EndpointOption = None,
    relay_only: RelayOnlyOption = False,
) -> None:
    """Admit a member from its certificate and card, and publish a new directory."""
    from broker.home import BrokerHome
    from broker.members import Reachability, add_member, member_from_card, read_card

    reach = Reachability(endpoint, relay_only)
    member = member_from_card(
        read_card(cert, keys),
        name=name,
        ori=ori,
        jurisdiction=jurisdiction,
        kind=kind,
        reach=reach,
    )
    snapshot = add_member(BrokerHome.open(home), member, now=_now())
    _out.print(f"member {member.name} added, certificate sha256 {member.cert_sha256}")
    _out.print(_published(snapshot))


@member_app.command("update")
def member_update(
    home: BrokerHomeOption,
    name: Annotated[str, typer.Argument(help="The member's name.")],
    cert: Annotated[Path | None, typer.Option(help="New certificate (with --keys).")] = None,
    keys: Annotated[Path | None, typer.Option(help="New public card (with --cert).")] = None,
    endpoint: EndpointOption = None,
    relay_only: RelayOnlyOption = False,
) -> None:
    """Rotate a member's certificate and keys, or change how it is reached."""
    from broker.errors import MemberError
    from broker.home import BrokerHome
    from broker.members import Reachability, read_card, update_member

    if (cert is None) != (keys is None):
        raise MemberError("give --cert and --keys together")
    card = read_card(cert, keys) if cert is not None and keys is not None else None
    reach = Reachability(endpoint, relay_only) if endpoint is not None or relay_only else None
    snapshot = update_member(BrokerHome.open(home), name, card=card, reach=reach, now=_now())
    _out.print(f"member {name} updated")
    _out.print(_published(snapshot))


@member_app.command("remove")
def member_remove(
    home: BrokerHomeOption, name: Annotated[str, typer.Argument(help="The member's name.")]
) -> None:
    """Remove a member: every node refuses it from its next directory refresh."""
    from broker.home import BrokerHome
    from broker.members import remove_member

    snapshot = remove_member(BrokerHome.open(home), name, now=_now())
    _out.print(f"member {name} removed")
    _out.print(_published(snapshot))


@member_app.command("list")
def member_list(
    home: BrokerHomeOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the members of the published directory."""
    from broker.home import BrokerHome

    directory = BrokerHome.open(home).current().directory
    if as_json:
        rows = [
            {
                "name": m.name,
                "ori": m.ori,
                "jurisdiction": m.jurisdiction,
                "kind": m.kind,
                "endpoint": m.endpoint or None,
                "relay_only": m.relay_only,
                "cert_sha256": m.cert_sha256,
            }
            for m in directory.members
        ]
        doc = {"federation": directory.federation, "version": directory.version, "members": rows}
        typer.echo(json.dumps(doc, indent=2))
        return
    table = Table(title=f"{directory.federation} directory, version {directory.version}")
    for col in ("name", "ORI", "jurisdiction", "kind", "reached at", "certificate sha256"):
        table.add_column(col)
    for m in directory.members:
        reached = "relay only" if m.relay_only else m.endpoint
        table.add_row(m.name, m.ori, m.jurisdiction, m.kind, reached, m.cert_sha256[:16] + "...")
    _out.print(table)
