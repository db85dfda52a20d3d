"""``accord audit report``: the public transparency report of a set of ledgers.

Exit codes: 0 when every ledger verified and the report was written; 1 when the report
could not be made (a ``--ledgers`` path holds no ledger, the output cannot be written);
2 when the report was written but some ledger failed verification. A failing ledger is a
finding the publisher must see before the page goes out, so it never exits 0; the page
and the JSON list it as excluded, and none of its entries is counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

#: The report was written, without the ledgers that failed verification.
EXIT_EXCLUDED = 2


def report(
    ledgers: Annotated[
        list[Path],
        typer.Option(
            help="A node's export directory (ledger/, ledger.vkey, audit-policy.toml), or a "
            "directory of them; repeat for more.",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Directory for index.html and report.json.")],
    more: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[DIR]...",
            help="More ledger directories, so that `--ledgers A B C` reads as it is written.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the transparency report (static HTML and JSON) from verified ledgers only."""
    from audit.errors import AuditError
    from audit.ledger_set import discover, load_ledgers
    from audit.report import build_report, write_report

    try:
        loaded = load_ledgers(discover([*ledgers, *(more or [])]))
        html, data = write_report(build_report(loaded), out)
    except AuditError as e:
        _err.print(f"FAILED: {e}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for ledger in loaded.verified:
        _out.print(f"verified {ledger.node}: {ledger.size:,} entries", markup=False, soft_wrap=True)
    for bad in loaded.excluded:
        _err.print(f"EXCLUDED {bad.label}: {bad.reason}", markup=False, soft_wrap=True)
    _out.print(f"wrote {html} and {data}", markup=False, soft_wrap=True)
    if loaded.excluded:
        _err.print(
            f"{len(loaded.excluded)} ledger(s) failed verification and are not counted.",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_EXCLUDED)
