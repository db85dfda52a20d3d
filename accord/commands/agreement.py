"""``accord agreement ...``: agreements with peers, through this node's own admin API.

Every command calls the running node (``accord node serve``) over mutual TLS as the node
itself (:mod:`node.rpc.self_client`); the node signs, talks to the peer and writes its
ledger. The commands only parse, call and print. gRPC and the node's packages are
imported inside the commands, so ``accord --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from accord.commands.options import HomeOption

app = typer.Typer(
    help="Agreements with peers: propose, list, show, accept, reject, revoke, export.",
    no_args_is_help=True,
)
_out = Console(highlight=False)

T = TypeVar("T")

AdminOption = Annotated[
    str, typer.Option(help="Who is acting (recorded on the ledger as a keyed pseudonym only).")
]
IdArgument = Annotated[str, typer.Argument(help="The agreement id.")]
ReasonOption = Annotated[
    str, typer.Option(help="A short reason code for the ledger, e.g. terms or profile.")
]


class Detail(enum.StrEnum):
    """How much a hit reveals (the agreement's label detail)."""

    HIT_ONLY = "HIT_ONLY"
    DAY_AND_CITY = "DAY_AND_CITY"
    TIME_CAMERA_PLACE = "TIME_CAMERA_PLACE"
    IMAGE_REFERENCE = "IMAGE_REFERENCE"


_RATE = re.compile(r"^(\d{1,9})(?:/day)?$")


def _codes(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _rate(text: str) -> int:
    m = _RATE.match(text.strip())
    if not m:
        raise typer.BadParameter("must be plates per day, like 5000/day", param_hint="--rate")
    return int(m.group(1))


def _when(text: str, option: str, *, end_of_day: bool) -> dt.datetime:
    """A UTC time: ``YYYY-MM-DD`` (the start of that day, or for ``--valid-until`` its
    end, so the named day is included) or ``YYYY-MM-DDTHH:MM:SSZ`` exactly."""
    try:
        if "T" in text:
            when = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
            return when
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            "must be a date like 2027-06-30 or a UTC time like 2027-06-30T12:00:00Z",
            param_hint=option,
        ) from None
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start + dt.timedelta(days=1) if end_of_day else start


def _call(home: Path, call: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``call`` with a NodeAdminService stub of the node at ``home``."""
    from node.rpc.self_client import node_admin

    async def run() -> T:
        async with node_admin(home) as stub:
            return await call(stub)

    return asyncio.run(run())


def _said(summary: Any, what: str) -> None:
    index = f", ledger index {summary.ledger_index}" if summary.ledger_index else ""
    _out.print(
        f"agreement {summary.agreement_id} v{summary.version} with {summary.peer}: {what} "
        f"(sha256 {bytes(summary.agreement_hash).hex()}){index}",
        soft_wrap=True,
    )


@app.command()
def propose(
    home: HomeOption,
    peer: Annotated[str, typer.Option(help="The responder: the peer that will answer.")],
    agreement_id: Annotated[
        str, typer.Option("--id", help="Stable agreement id (letters, digits, . _ -).")
    ],
    purposes: Annotated[str, typer.Option(help="Purpose codes, comma-separated.")],
    kinds: Annotated[
        str, typer.Option(help="Query kinds, comma-separated: hit_query, index_stream, alerts.")
    ],
    window_days: Annotated[int, typer.Option(help="Longest look-back window of a query.")],
    detail: Annotated[Detail, typer.Option(help="How much a hit reveals.")],
    rate: Annotated[str, typer.Option(help="Plates evaluated per UTC day, like 5000/day.")],
    max_batch: Annotated[int, typer.Option(help="Most plates in one query.")],
    valid_until: Annotated[
        str, typer.Option(help="Last day (UTC) the agreement is valid, or an exact UTC time.")
    ],
    admin: AdminOption,
    valid_from: Annotated[str | None, typer.Option(help="First day (UTC); default: today.")] = None,
    case_pattern: Annotated[
        str | None, typer.Option(help="Pattern a case number must match (a safe subset).")
    ] = None,
    no_case_number: Annotated[
        bool, typer.Option("--no-case-number", help="Queries need no case number.")
    ] = False,
    alert_categories: Annotated[
        str, typer.Option(help="Hotlist categories shared for alerts, comma-separated.")
    ] = "",
    retention_days: Annotated[int, typer.Option(help="Days the requester may keep hits.")] = 90,
    onward_sharing_allowed: Annotated[
        bool,
        typer.Option("--onward-sharing-allowed", help="Allow asking on another ORI's behalf."),
    ] = False,
    fold_confusables: Annotated[
        bool, typer.Option("--fold-confusables", help="Fold O/0, I/1, B/8, S/5, Z/2.")
    ] = False,
) -> None:
    """Sign an agreement as requester and send it to PEER for its admin to decide."""
    from accord.v1 import common_pb2, node_admin_pb2

    terms = node_admin_pb2.AgreementTerms(
        agreement_id=agreement_id,
        peer=peer,
        purposes=_codes(purposes),
        query_kinds=_codes(kinds),
        window_days=window_days,
        label_detail=common_pb2.LabelDetail.Value(f"LABEL_DETAIL_{detail.value}"),
        plates_per_day=_rate(rate),
        max_batch=max_batch,
        case_number_required=not no_case_number,
        case_number_pattern=case_pattern or "",
        alert_categories=_codes(alert_categories),
        retention_days=retention_days,
        onward_sharing_banned=not onward_sharing_allowed,
        confusable_folding=fold_confusables,
    )
    terms.valid_until.FromDatetime(_when(valid_until, "--valid-until", end_of_day=True))
    if valid_from is not None:
        terms.valid_from.FromDatetime(_when(valid_from, "--valid-from", end_of_day=False))
    command = node_admin_pb2.ProposeAgreementCommand(terms=terms, admin=admin)
    summary = _call(home, lambda stub: stub.ProposeAgreement(command))
    _said(summary, f"proposed, waiting for {summary.peer}'s admin")


def _list(home: Path, status: str = "") -> list[Any]:
    from accord.v1 import node_admin_pb2

    request = node_admin_pb2.ListAgreementsRequest(status=status)
    reply = _call(home, lambda stub: stub.ListAgreements(request))
    return list(reply.agreements)


@app.command("list")
def list_(
    home: HomeOption,
    status: Annotated[
        str | None,
        typer.Option(help="Only this status: proposed, active, rejected, revoked, expired."),
    ] = None,
) -> None:
    """List agreements (the newest version of each)."""
    table = Table(title="Agreements")
    for col in ("id", "version", "peer", "role", "status", "kinds", "purposes", "valid until"):
        table.add_column(col)
    table.add_column("sha256", overflow="fold")
    for a in _list(home, status or ""):
        doc = json.loads(a.document_json)
        table.add_row(
            a.agreement_id,
            str(a.version),
            a.peer,
            a.role,
            a.status,
            ", ".join(doc["query_kinds"]),
            ", ".join(doc["purposes"]),
            doc["valid_until"],
            bytes(a.agreement_hash).hex()[:16] + "...",
        )
    _out.print(table)


@app.command()
def show(home: HomeOption, agreement_id: IdArgument) -> None:
    """Print the canonical JSON of the newest version of an agreement."""
    found = [a for a in _list(home) if a.agreement_id == agreement_id]
    if not found:
        typer.echo(f"error: no agreement {agreement_id} on this node", err=True)
        raise typer.Exit(1)
    typer.echo(found[0].document_json)


def _decide(
    home: Path, agreement_id: str, version: int, accept: bool, reason: str, admin: str
) -> Any:
    from accord.v1 import node_admin_pb2

    command = node_admin_pb2.DecideAgreementCommand(
        agreement_id=agreement_id, version=version, accept=accept, reason=reason, admin=admin
    )
    return _call(home, lambda stub: stub.DecideAgreement(command))


VersionOption = Annotated[int, typer.Option(help="The version to decide; default: the latest.")]


@app.command()
def accept(
    home: HomeOption, agreement_id: IdArgument, admin: AdminOption, version: VersionOption = 0
) -> None:
    """Accept (sign) an agreement a peer proposed; it is active on both nodes after."""
    _said(_decide(home, agreement_id, version, True, "", admin), "active")


@app.command()
def reject(
    home: HomeOption,
    agreement_id: IdArgument,
    reason: ReasonOption,
    admin: AdminOption,
    version: VersionOption = 0,
) -> None:
    """Reject an agreement a peer proposed; the peer is told."""
    _said(_decide(home, agreement_id, version, False, reason, admin), "rejected")


@app.command()
def revoke(
    home: HomeOption, agreement_id: IdArgument, reason: ReasonOption, admin: AdminOption
) -> None:
    """End an agreement: its keys are destroyed here and at the peer."""
    from accord.v1 import node_admin_pb2

    command = node_admin_pb2.EndAgreementCommand(
        agreement_id=agreement_id, reason=reason, admin=admin
    )
    summary = _call(home, lambda stub: stub.EndAgreement(command))
    _said(summary, "revoked, keys destroyed")


@app.command()
def export(
    home: HomeOption,
    agreement_id: IdArgument,
    out: Annotated[Path, typer.Option(help="File to write (refused if it exists).")],
    version: VersionOption = 0,
) -> None:
    """Write the signed agreement (terms and every signature) for an auditor.

    Read from the node's store directly: exporting writes nothing to the ledger, so it
    works with the node stopped. The file is ``accord/signed-agreement/v1`` canonical JSON;
    ``accord audit check --agreements FILE`` verifies it against the ledgers' hashes.
    """
    from accord.legal.errors import LegalError
    from node.app import open_store
    from node.errors import NodeError
    from node.exchange.agreement_export import exported_agreement
    from node.ids import AgreementId
    from node.store.agreements import AgreementRepository
    from node.store.db import session_scope

    def fail(message: str) -> NoReturn:
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1)

    if out.exists() or out.is_symlink():
        fail(f"{out} exists; choose another file")
    try:
        _, engine, sessions = open_store(home)
        try:
            with session_scope(sessions) as s:
                stored = AgreementRepository(s).get(AgreementId(agreement_id), version or None)
        finally:
            engine.dispose()
        if stored is None:
            fail(f"no agreement {agreement_id}" + (f" v{version}" if version else "") + " here")
        data = exported_agreement(stored)
    except (NodeError, LegalError) as e:
        fail(str(e))
    _write_new(out, data, fail)
    digest = bytes(stored.digest).hex()
    roles = ", ".join(sorted(s.role for s in stored.signatures)) or "nobody"
    _out.print(
        f"agreement {stored.id} v{stored.version} (sha256 {digest}), signed by {roles}: {out}",
        soft_wrap=True,
    )


def _write_new(path: Path, data: bytes, fail: Callable[[str], NoReturn]) -> None:
    """Write ``data`` to a new file ``path`` in one step: a temporary file beside it,
    flushed, then linked into place (never over an existing file)."""
    import os
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        fail(f"{path.parent}: {e.strerror}")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    except FileExistsError:
        fail(f"{path} exists; choose another file")
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    finally:
        Path(tmp).unlink(missing_ok=True)
