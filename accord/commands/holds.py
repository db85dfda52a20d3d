"""``accord node hold add|list|release``: keep a case's reads past their age.

Holds go through the running node (as the node itself, over mutual TLS), because each
add and release is an ``admin.action`` on its ledger and only the node appends there.
The request is checked here first with the same rules the node applies, so a hold
without a case number, an approver or a future expiry is refused before connecting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from accord.commands.options import HomeOption

app = typer.Typer(
    help="Case holds: keep a case's reads past their age, until the hold expires.",
    no_args_is_help=True,
)
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


def parse_expiry(text: str) -> dt.datetime:
    """``2027-06-30`` (the hold lasts through that UTC day) or an ISO 8601 time (UTC if
    it names no zone)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return parse_time(text, "--expires")
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def parse_time(text: str, option: str) -> dt.datetime:
    """An ISO 8601 date or time; UTC if it names no zone."""
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 date or time", param_hint=option
        ) from e
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _fail(message: str) -> typer.Exit:
    _err.print(f"error: {message}", markup=False)
    return typer.Exit(1)


@app.command()
def add(
    home: HomeOption,
    case: Annotated[str, typer.Option("--case", help="Case number, e.g. 24-00123.")],
    approver: Annotated[
        str, typer.Option(help="Who approved the hold (a pseudonym on the ledger).")
    ],
    expires: Annotated[str, typer.Option(help="Last day kept (2027-06-30) or an ISO time.")],
    reason: Annotated[str, typer.Option(help="Why the reads are kept.")],
    plate: Annotated[str | None, typer.Option(help="Hold the stored reads of this plate.")] = None,
    read_id: Annotated[
        list[int] | None, typer.Option("--read-id", help="Hold this read (repeatable).")
    ] = None,
    camera: Annotated[str | None, typer.Option(help="Hold a camera's reads (--from/--to).")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Start of the range (ISO).")] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="End of the range (ISO, excluded).")
    ] = None,
) -> None:
    """Hold reads for a case: they are kept past their class's age until the expiry."""
    from accord.v1 import node_admin_pb2
    from node.retention.errors import InvalidHoldError
    from node.retention.holds import HoldRequest, check_request
    from node.retention.settings import load_settings

    request = HoldRequest(
        case_number=case,
        approver=approver,
        reason=reason,
        expires=parse_expiry(expires),
        plate=plate,
        read_ids=tuple(read_id or ()),
        camera_id=camera,
        from_time=None if from_ is None else parse_time(from_, "--from"),
        to_time=None if to is None else parse_time(to, "--to"),
    )
    try:
        check_request(request, now=dt.datetime.now(dt.UTC), settings=load_settings(home))
    except InvalidHoldError as e:
        raise _fail(str(e)) from e
    command = node_admin_pb2.AddHoldCommand(
        case_number=request.case_number,
        approver=request.approver,
        reason=request.reason,
        expires=_stamp(request.expires),
        plate=request.plate or "",
        read_ids=list(request.read_ids),
        camera=request.camera_id or "",
        from_time=_stamp(request.from_time),
        to_time=_stamp(request.to_time),
    )
    hold = asyncio.run(_call(home, "AddHold", command))
    _out.print(
        f"hold {hold.hold_id} for case {hold.case_number}: {hold.reads} read(s) kept until "
        f"{_when(hold.expires)} (ledger entry {hold.ledger_index})",
        markup=False,
    )


@app.command("list")
def list_(home: HomeOption) -> None:
    """Every hold, newest first, with its status and how many reads it keeps."""
    from accord.v1 import node_admin_pb2

    found = asyncio.run(_call(home, "ListHolds", node_admin_pb2.ListHoldsRequest()))
    table = Table(title="Case holds")
    for column in ("hold", "case", "approver", "selector", "reads", "expires", "status"):
        table.add_column(column)
    for h in found.holds:
        selector = h.selector if h.selector != "camera" else f"camera {h.camera}"
        table.add_row(
            str(h.hold_id),
            h.case_number,
            h.approver,
            selector,
            str(h.reads),
            _when(h.expires),
            h.status,
        )
    _out.print(table)


@app.command()
def release(
    home: HomeOption,
    hold_id: Annotated[int, typer.Argument(help="The hold's number (see `hold list`).")],
    admin: Annotated[str, typer.Option(help="Who releases it (a pseudonym on the ledger).")] = (
        "admin"
    ),
) -> None:
    """Release a hold: its reads are due under their normal class at the next purge."""
    from accord.v1 import node_admin_pb2

    command = node_admin_pb2.ReleaseHoldCommand(hold_id=hold_id, admin=admin)
    hold = asyncio.run(_call(home, "ReleaseHold", command))
    _out.print(
        f"hold {hold.hold_id} released (ledger entry {hold.ledger_index}); its "
        f"{hold.reads} read(s) go at the next purge",
        markup=False,
    )


async def _call(home: Any, method: str, request: Any) -> Any:
    from node.rpc.self_client import node_admin

    async with node_admin(home) as stub:
        return await getattr(stub, method)(request, timeout=60)


def _stamp(at: dt.datetime | None) -> Any:
    if at is None:
        return None
    from google.protobuf import timestamp_pb2

    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def _when(stamp: Any) -> str:
    return str(stamp.ToDatetime(tzinfo=dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
