"""``accord node federation ...``: join a federation and see the directory this node holds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from accord.commands.options import HomeOption

app = typer.Typer(help="This node's federation: broker, directory.", no_args_is_help=True)
_out = Console(highlight=False)


@app.command()
def join(
    home: HomeOption,
    broker: Annotated[str, typer.Option(help="host:port of the federation's broker.")],
    broker_cert: Annotated[Path, typer.Option(help="The broker's certificate (pinned).")],
    operator_key: Annotated[
        str, typer.Option(help="Operator public key: 64 hex digits, or a file holding them.")
    ],
    broker_witness: Annotated[
        str | None,
        typer.Option(help="The broker's witness vkey, or a file holding it (to be cosigned)."),
    ] = None,
    refresh_s: Annotated[float, typer.Option(help="Seconds between directory fetches.")] = 60.0,
) -> None:
    """Take peers from the broker's signed directory from now on (restart the node)."""
    from node.federation.join import join_federation

    config = join_federation(
        home,
        broker=broker,
        broker_cert=broker_cert,
        operator_key=operator_key,
        broker_witness=broker_witness,
        refresh_s=refresh_s,
    )
    assert config.federation is not None
    _out.print(
        f"{config.name} joined the federation of broker {config.federation.broker} "
        f"(certificate sha256 {config.federation.broker_cert_sha256}); its peers now come "
        "only from the signed directory. Restart `accord node serve` to apply."
    )


@app.command()
def show(home: HomeOption) -> None:
    """The broker this node uses and the directory it holds."""
    from node.config import load_config
    from node.errors import ConfigError
    from node.federation.held import load_held

    config = load_config(home)
    if config.federation is None:
        raise ConfigError(config.config_path, "this node has not joined a federation")
    table = Table(title=f"Federation of {config.name}", show_header=False)
    table.add_row("broker", config.federation.broker)
    table.add_row("broker certificate sha256", config.federation.broker_cert_sha256)
    table.add_row("operator key", config.federation.operator_key.hex())
    table.add_row("broker witness", config.federation.broker_witness or "(not cosigning)")
    held = load_held(config.home, config.federation.operator_key)
    if held is None:
        table.add_row("directory", "none held yet")
    else:
        d = held[1]
        expires = dt.datetime.fromtimestamp(d.expires_ms / 1000, dt.UTC)
        state = "EXPIRED" if expires <= dt.datetime.now(dt.UTC) else "valid"
        table.add_row("directory", f"{d.federation} version {d.version}, {len(d.members)} members")
        table.add_row("expires", f"{expires.isoformat(timespec='seconds')} ({state})")
    _out.print(table)
