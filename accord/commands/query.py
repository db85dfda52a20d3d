"""``accord query hits``: ask peers about plates, privately, through this node.

The command talks only to its own running node (as the node itself, over mutual TLS);
the node blinds the plates, signs the query, asks each peer under its agreement, verifies
the answers and their ledger receipts, and returns the hits. Plates never leave this
host in any form a peer could read.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from accord.commands.options import HomeOption

app = typer.Typer(help="Ask peers about plates, under agreements.", no_args_is_help=True)
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

MAX_FILE_BYTES = 1 << 20


def read_plates(plates_file: Path | None, plates: list[str] | None) -> list[str]:
    """Plates from ``--plate`` options and a file (one per line, or a CSV's first column;
    blank lines and lines starting with # are ignored)."""
    out = list(plates or [])
    if plates_file is not None:
        try:
            if plates_file.stat().st_size > MAX_FILE_BYTES:
                raise typer.BadParameter(f"{plates_file} is larger than {MAX_FILE_BYTES} bytes")
            text = plates_file.read_text(encoding="utf-8-sig")
        except OSError as e:
            raise typer.BadParameter(f"{plates_file}: {e.strerror}") from e
        for line in text.splitlines():
            first = line.split(",", 1)[0].strip()
            if first and not first.startswith("#") and first.lower() != "plate":
                out.append(first)
    if not out:
        raise typer.BadParameter("give plates with --plate or --plates FILE")
    return out


@app.command()
def hits(
    home: HomeOption,
    purpose: Annotated[str, typer.Option(help="Purpose code, e.g. stolen-vehicle.")],
    case: Annotated[str, typer.Option(help="Case number, e.g. 24-00123.")],
    user: Annotated[str, typer.Option(help="Who is asking (a keyed pseudonym on both ledgers).")],
    peer: Annotated[
        list[str] | None, typer.Option(help="Peer to ask (repeatable); default: every peer.")
    ] = None,
    plate: Annotated[list[str] | None, typer.Option(help="A plate (repeatable).")] = None,
    plates: Annotated[Path | None, typer.Option(help="A file of plates, one per line.")] = None,
    days: Annotated[int, typer.Option(help="Look-back window in days, counting today.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Ask peers whether they have seen any of these plates in the last DAYS days."""
    from accord.v1 import node_admin_pb2
    from node.rpc.self_client import node_admin_stub, self_channel

    asked = read_plates(plates, plate)
    command = node_admin_pb2.QueryHitsCommand(
        peers=peer or [], plates=asked, purpose=purpose, case_number=case, days=days, user=user
    )

    async def run() -> Any:
        async with self_channel(home) as channel:
            return await node_admin_stub(channel).QueryHits(command, timeout=120)

    result = asyncio.run(run())
    if as_json:
        print(
            json.dumps(
                {
                    "hits": [
                        {
                            "peer": h.peer,
                            "plate": h.plate,
                            "epoch": h.epoch,
                            "detail": json.loads(h.detail_json),
                        }
                        for h in result.hits
                    ],
                    "answers": [
                        {
                            "peer": a.peer,
                            "outcome": a.outcome,
                            "message": a.message,
                            "rule_ids": list(a.rule_ids),
                            "plates_evaluated": a.plates_evaluated,
                            "hits": a.hits,
                            "receipt_index": a.receipt_index,
                        }
                        for a in result.answers
                    ],
                }
            )
        )
    else:
        table = Table(title=f"Hits for {len(asked)} plate(s), last {days} day(s)")
        for col in ("plate", "peer", "day", "time", "place", "camera"):
            table.add_column(col)
        for h in result.hits:
            d = json.loads(h.detail_json)
            place = f"{d['lat']}, {d['lon']}" if "lat" in d else d.get("city", "")
            table.add_row(
                h.plate, h.peer, d.get("day", ""), d.get("time", ""), place, d.get("camera", "")
            )
        _out.print(table)
        for a in result.answers:
            rules = f" [{', '.join(a.rule_ids)}]" if a.rule_ids else ""
            line = f"{a.peer}: {a.outcome}"
            if a.outcome == "answered":
                line += (
                    f", {a.plates_evaluated} plates evaluated, {a.hits} hits,"
                    f" ledger receipt {a.receipt_index}"
                )
            else:
                line += f": {a.message}{rules}"
            _out.print(line, markup=False)
    if not any(a.outcome == "answered" for a in result.answers):
        raise typer.Exit(1)


alerts_app = typer.Typer(help="Real-time hotlist alerts from peers.", no_args_is_help=True)


@alerts_app.command()
def watch(
    home: HomeOption,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per alert.")] = False,
) -> None:
    """Print hotlist alerts as peers' index entries arrive, until Ctrl-C."""
    from accord.v1 import node_admin_pb2
    from node.rpc.self_client import node_admin_stub, self_channel

    async def run() -> None:
        async with self_channel(home) as channel:
            stream = node_admin_stub(channel).WatchAlerts(node_admin_pb2.WatchAlertsRequest())
            if not as_json:
                _err.print("watching for alerts (Ctrl-C to stop)")
            async for alert in stream:
                detail = json.loads(alert.detail_json)
                if as_json:
                    print(
                        json.dumps(
                            {
                                "peer": alert.peer,
                                "plate": alert.plate,
                                "hotlist_id": alert.hotlist_id,
                                "case_number": alert.case_number,
                                "category": alert.category,
                                "epoch": alert.epoch,
                                "detail": detail,
                                "received_at": alert.received_at.ToDatetime().isoformat() + "Z",
                            }
                        ),
                        flush=True,
                    )
                else:
                    where = detail.get("camera") or detail.get("city", "")
                    when = detail.get("time") or detail.get("day", "")
                    _out.print(
                        f"[bold red]ALERT[/] {alert.plate} ({alert.category}, case "
                        f"{alert.case_number}) seen by {alert.peer} {when} {where}"
                    )

    asyncio.run(run())
