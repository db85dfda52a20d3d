"""``accord demo``: the first thing to run."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from accord.demo.exchange import READS_PER_CITY


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Where to put the federation's files (default: a new temporary directory).",
        ),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Leave the federation running after the demo, until Ctrl-C."),
    ] = False,
    relay_only: Annotated[
        list[str] | None,
        typer.Option(
            "--relay-only",
            help="A city reachable only through the broker's relay (repeatable), e.g. "
            "los-angeles-pd.",
        ),
    ] = None,
    reads: Annotated[
        int, typer.Option("--reads", min=10, max=100_000, help="Synthetic reads per city.")
    ] = READS_PER_CITY,
) -> None:
    """Start a broker and city nodes on loopback and show what they exchange."""
    from accord.demo.cities import CITIES
    from accord.demo.run import DemoOptions, run_demo

    names = {c.name for c in CITIES}
    unknown = sorted(set(relay_only or ()) - names)
    if unknown:
        raise typer.BadParameter(
            f"{', '.join(unknown)}: not a demo city ({', '.join(sorted(names))})",
            param_hint="--relay-only",
        )
    options = DemoOptions(relay_only=frozenset(relay_only or ()), reads_per_city=reads)

    console = Console(highlight=False)
    base = directory or Path(tempfile.mkdtemp(prefix="accord-demo-"))
    if base.exists() and any(base.iterdir()):
        raise typer.BadParameter(f"{base} is not empty; choose a new directory", param_hint="--dir")
    try:
        failed = asyncio.run(run_demo(base, keep=keep, console=console, options=options))
    except KeyboardInterrupt:
        console.print("\nstopped; files are in " + str(base))
        raise typer.Exit(0) from None
    console.print(f"\nFiles are in [bold]{base}[/].")
    if failed:
        raise typer.Exit(1)
