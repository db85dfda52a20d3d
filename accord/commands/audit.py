"""``accord audit ...``: verify ledgers without trusting the nodes that wrote them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

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


_SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


@app.command()
def check(
    ledgers: Annotated[
        list[Path],
        typer.Option(
            "--ledgers",
            help="Node export directories (ledger/ + ledger.vkey), or directories of them.",
        ),
    ],
    profile: Annotated[
        str, typer.Option(help="Legal profile: a shipped name (us-ca-sb34, ...) or a .cedar file.")
    ],
    agreements: Annotated[
        list[Path] | None,
        typer.Option(
            "--agreements",
            help="Signed agreement files (accord agreement export), or directories of them.",
        ),
    ] = None,
    skew_tolerance: Annotated[
        float,
        typer.Option(help="Seconds a node's record may be timed before the step it follows."),
    ] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check the exchanges in verified ledgers against their agreements and the law.

    Exit status: 0 no finding, 1 findings, 2 the check could not run (bad input).
    """
    import json

    from audit.check import CheckInputError, Thresholds, run_check

    if not 0 <= skew_tolerance <= 86_400:  # also refuses NaN
        _err.print("error: --skew-tolerance must be 0 to 86400 seconds", markup=False)
        raise typer.Exit(2)
    thresholds = Thresholds(skew_tolerance_ms=int(skew_tolerance * 1000))
    try:
        report = run_check(ledgers, agreements or [], profile, thresholds)
    except CheckInputError as e:
        _err.print(f"error: {e}", markup=False)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        nodes = ", ".join(f"{s.node} ({s.size})" for s in report.ledgers) or "none"
        _out.print(f"ledgers verified: {nodes}; profile {report.profile}", markup=False)
        if report.findings:
            table = Table(title=f"{len(report.findings)} finding(s)")
            for column in ("severity", "code", "nodes", "entries", "message"):
                table.add_column(column, overflow="fold")
            for f in report.findings:
                entries = ", ".join(f"{e.node}#{e.index}" for e in f.entries)
                table.add_row(
                    Text(f.severity.value, style=_SEVERITY_STYLE[f.severity.value]),
                    Text(f.code),
                    Text(", ".join(f.nodes)),
                    Text(entries),
                    Text(f.message),
                )
            _out.print(table)
        else:
            _out.print("[green]OK[/]: no finding.")
    if report.findings:
        raise typer.Exit(1)
