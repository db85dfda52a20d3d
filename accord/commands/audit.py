"""``accord audit ...``: verify ledgers without trusting the nodes that wrote them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from accord.commands.audit_report import report as report_command

app = typer.Typer(help="Verify ledgers offline; no plate is ever needed.", no_args_is_help=True)
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)
app.command(name="report")(report_command)


@app.command()
def verify(
    policy: Annotated[Path, typer.Option(help="TOML policy: log key, witness keys, quorum.")],
    log: Annotated[str, typer.Option(help="An exported tiles directory or its http(s) URL.")],
) -> None:
    """Verify signatures, quorum, every entry, the root, the tiles and every old checkpoint."""
    from audit.errors import AuditError
    from audit.policy import load_policy
    from audit.source import open_source
    from audit.verify import verify_log

    start = time.perf_counter()
    try:
        report = verify_log(open_source(log), load_policy(policy))
    except AuditError as e:
        _err.print(f"FAILED: {e}", markup=False)
        raise typer.Exit(1) from None
    elapsed = time.perf_counter() - start
    table = Table(title=f"Verified {report.origin}", show_header=False)
    table.add_row("entries", str(report.size))
    table.add_row("root", report.root_hex)
    table.add_row("cosigned by", ", ".join(report.cosigners) or "(no witnesses)")
    table.add_row("checkpoints checked", str(report.checkpoints_checked))
    for kind, count in sorted(report.entries_by_type.items()):
        table.add_row(f"  {kind}", str(count))
    rate = report.size / elapsed if elapsed > 0 else 0.0
    table.add_row("time", f"{elapsed:.2f} s ({rate:,.0f} entries/s)")
    _out.print(table)
    _out.print("[green]OK[/]: the log is consistent, complete and signed as the policy requires.")
