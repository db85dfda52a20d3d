"""``accord demo``: the first thing to run."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


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
) -> None:
    """Start a federation of city nodes on loopback and show what they exchange."""
    from accord.demo.run import run_demo

    console = Console(highlight=False)
    base = directory or Path(tempfile.mkdtemp(prefix="accord-demo-"))
    if base.exists() and any(base.iterdir()):
        raise typer.BadParameter(f"{base} is not empty; choose a new directory", param_hint="--dir")
    try:
        failed = asyncio.run(run_demo(base, keep=keep, console=console))
    except KeyboardInterrupt:
        console.print("\nstopped; files are in " + str(base))
        raise typer.Exit(0) from None
    console.print(f"\nFiles are in [bold]{base}[/].")
    if failed:
        raise typer.Exit(1)
