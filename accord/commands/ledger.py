"""``accord ledger ...``: this node's transparency log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from accord.commands.options import HomeOption

app = typer.Typer(help="This node's signed, append-only ledger.", no_args_is_help=True)
_out = Console(highlight=False)


@app.command()
def vkey(home: HomeOption) -> None:
    """Print the log's verifier key (signed-note vkey line)."""
    from node.config import load_config
    from node.identity import load_node_keys
    from node.ledger.names import log_signer

    config = load_config(home)
    typer.echo(log_signer(config.name, load_node_keys(home).log).verifier.vkey())


@app.command("witness-vkey")
def witness_vkey(home: HomeOption) -> None:
    """Print this node's witness key (cosignature/v1 vkey line)."""
    from node.config import load_config
    from node.identity import load_node_keys
    from node.ledger.names import witness_signer

    config = load_config(home)
    typer.echo(witness_signer(config.name, load_node_keys(home).witness).verifier.vkey())


@app.command()
def policy(
    home: HomeOption,
    quorum: Annotated[int, typer.Option(help="Witness cosignatures an auditor requires.")] = 1,
) -> None:
    """Print an audit policy for this log: its key, its peers' witness keys, a quorum."""
    from node.app import audit_policy_text

    typer.echo(audit_policy_text(home, quorum=quorum), nl=False)


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Directory to write the static tlog-tiles into.")],
    home: HomeOption,
) -> None:
    """Export the log up to its latest checkpoint as static C2SP tlog-tiles."""
    from node.app import export_ledger

    size = asyncio.run(export_ledger(home, out))
    _out.print(f"exported {size} entries to {out} (checkpoint, tile/, tile/entries/)")
