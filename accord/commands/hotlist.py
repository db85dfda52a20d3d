"""``accord hotlist import|list|remove``: the plates this node looks out for.

These work on the node's store directly (no server needs to run) and write no ledger
entries. Plates are sealed as they are stored and never printed: skips name rows and
fields, and ``list`` shows counts per category.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from accord.commands.options import HomeOption
from node.hotlists.formats import HotlistFormat

if TYPE_CHECKING:
    from collections.abc import Mapping

app = typer.Typer(
    help="Hotlists: plates this node looks out for, each with a case, reason and expiry.",
    no_args_is_help=True,
)
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

IdArgument = Annotated[str, typer.Argument(help="The hotlist's id, e.g. ncic-stolen.")]


@app.command("import")
def import_(
    home: HomeOption,
    path: Annotated[Path, typer.Argument(help="The hotlist file (CSV or JSON).")],
    list_id: Annotated[str, typer.Option("--id", help="The hotlist's id, e.g. ncic-stolen.")],
    name: Annotated[
        str | None, typer.Option(help="Its name, e.g. 'NCIC stolen vehicles' (new lists).")
    ] = None,
    fmt: Annotated[
        HotlistFormat | None,
        typer.Option("--format", help="The file's format; default: by its suffix."),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--map",
            help="CSV columns, e.g. 'plate=Tag,oca=Case No,expires=Purge Date'; "
            "default: LIC, LIS, ORI, OCA, CASE_NUMBER, CATEGORY, REASON, EXPIRY.",
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Where the list comes from, e.g. NCIC; default: file name.")
    ] = None,
    category: Annotated[
        str | None, typer.Option(help="Category for entries that give none.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Reason for entries that give none.")] = None,
    show_skips: Annotated[int, typer.Option(help="List at most this many skipped rows.")] = 20,
) -> None:
    """Import hotlist entries; entries already held (same plate and case) are kept once."""
    from node.hotlists.items import Defaults
    from node.hotlists.jobs import import_hotlist_file

    outcome = import_hotlist_file(
        home,
        path,
        list_id,
        name=name,
        fmt=fmt,
        columns=columns,
        source=source,
        defaults=Defaults(category=category, reason=reason),
        now=dt.datetime.now(dt.UTC),
    )
    result = outcome.result
    if result.created:
        _out.print(f"hotlist {list_id} created")
    _out.print(
        f"{result.stored} entries stored, {result.already_held} already held, "
        f"{len(result.skips)} skipped"
    )
    for skip in result.skips[:show_skips]:
        _err.print(f"  skipped {skip.where}: {skip.reason}", markup=False)
    if len(result.skips) > show_skips:
        _err.print(f"  ... and {len(result.skips) - show_skips} more")
    for code, rules in outcome.excluded.items():
        n = result.categories[code]
        _err.print(
            f"warning: legal profile {outcome.profile} excludes category {code} "
            f"({', '.join(rules)}): its {n} {'entry is' if n == 1 else 'entries are'} "
            "kept but never matched or shared",
            markup=False,
            soft_wrap=True,
        )


@app.command("list")
def list_(home: HomeOption) -> None:
    """List the hotlists with their unexpired entries per category."""
    from node.hotlists.jobs import hotlists_at

    listing = hotlists_at(home, now=dt.datetime.now(dt.UTC))
    table = Table(title=f"Hotlists (legal profile {listing.profile})")
    for col in ("id", "name", "source", "created (UTC)", "active", "categories"):
        table.add_column(col)
    for summary in listing.hotlists:
        h = summary.hotlist
        table.add_row(
            h.id,
            h.name,
            h.source,
            h.created.strftime("%Y-%m-%d %H:%M"),
            str(summary.active),
            _categories(summary.categories, listing.excluded),
        )
    _out.print(table)


@app.command("remove")
def remove(home: HomeOption, list_id: IdArgument) -> None:
    """Delete a hotlist and all its entries."""
    from node.hotlists.jobs import remove_hotlist

    remove_hotlist(home, list_id)
    _out.print(f"hotlist {list_id} removed")


def _categories(counts: Mapping[str, int], excluded: Mapping[str, object]) -> str:
    return ", ".join(
        f"{code} {n}" + (" (excluded by profile)" if code in excluded else "")
        for code, n in counts.items()
    )
