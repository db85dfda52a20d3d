"""``accord node retention show|set|purge``: how long this node keeps each class of data.

``show`` and ``set`` work on ``accord.toml`` directly; a setting above the state's cap is
refused with the cap and its citation. The running node re-reads the settings at each
purge, so a change takes effect within the hour without a restart, and logs the settings
it applies as ``admin.action`` ``retention.set``. ``purge --now`` asks the running node
(as the node itself, over mutual TLS) to purge at once, and prints what went.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from accord.commands.options import HomeOption
from node.errors import NodeError
from node.retention.settings import load_settings, save_settings
from node.store.epochs import DataClass
from node.store.retention import NOT_STORED

app = typer.Typer(
    help="Retention: the maximum age of each data class, capped by state law.",
    no_args_is_help=True,
)
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

# Spelt out here rather than imported from accord.commands.node, which mounts this module.


def _age(age: dt.timedelta) -> str:
    if age % dt.timedelta(days=1) == dt.timedelta(0):
        return f"{age.days} days"
    return f"{age.total_seconds() / 60:g} minutes"


@app.command()
def show(home: HomeOption) -> None:
    """The maximum age of each data class, the state cap that bounds it and its citation."""
    try:
        settings = load_settings(home)
    except NodeError as e:
        _err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from e
    table = Table(title=f"Retention ({settings.jurisdiction})")
    for column in ("class", "setting", "cap", "citation"):
        table.add_column(column)
    for row in settings.rows():
        setting = _age(row.max_age) + ("" if row.set_by_admin else " (default)")
        if row.data_class in NOT_STORED:
            setting += " (not stored)"
        cap = "none" if row.cap is None else row.cap.statute_says
        citation = "" if row.cap is None else row.cap.citation
        table.add_row(row.data_class.value, setting, cap, citation)
    _out.print(table)


@app.command("set")
def set_(
    home: HomeOption,
    data_class: Annotated[DataClass, typer.Option("--class", help="The data class.")],
    days: Annotated[int, typer.Option(help="Maximum age in whole days (0: at the epoch's end).")],
) -> None:
    """Set one class's maximum age; refused above the state cap."""
    try:
        settings = load_settings(home).with_days(data_class, days)
        save_settings(home, settings)
    except (NodeError, ValueError) as e:
        _err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from e
    _out.print(f"{data_class.value}: kept {_age(settings.max_age[data_class])}")


@app.command()
def purge(
    home: HomeOption,
    now: Annotated[
        bool, typer.Option("--now", help="Ask the running node to purge now, and show what went.")
    ] = False,
) -> None:
    """Purge expired data now (--now), or explain when the node purges on its own."""
    if not now:
        _out.print(
            "The running node purges expired data at start and every hour, and logs each "
            "deletion as retention.deleted; `accord node retention purge --now` asks it to "
            "purge at once."
        )
        return
    result = asyncio.run(_purge_now(home))
    if not result.purged:
        _out.print("nothing was due: no epoch has outlived its class's maximum age")
        return
    table = Table(title="Purged now")
    for column in ("class", "epoch", "deleted", "ledger entry"):
        table.add_column(column)
    for p in result.purged:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(p.counts.items()) if v)
        table.add_row(p.data_class, str(p.epoch), counts or "nothing", str(p.ledger_index))
    _out.print(table)


async def _purge_now(home: Any) -> Any:
    from accord.v1 import node_admin_pb2
    from node.rpc.self_client import node_admin

    async with node_admin(home) as stub:
        return await stub.PurgeRetention(node_admin_pb2.PurgeRetentionRequest(), timeout=600)
