"""Case holds: a held read outlives its day's purge under its hold's own key, and goes when
the hold expires or is released; holds need a case, an approver and a future expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from google.protobuf import timestamp_pb2
from sqlalchemy import func, select

from accord.v1 import node_admin_pb2
from crypto.entries import decode_entry
from node.app import NodeApp
from node.retention.errors import InvalidHoldError, PurgeInterruptedError
from node.retention.holds import HoldRequest, case_commit, held_reads
from node.retention.purge import Purged, Purger
from node.retention.settings import load_settings
from node.rpc.self_client import node_admin
from node.sealed_reads import day_epoch
from node.store.db import session_scope, sqlite_path
from node.store.epochs import DataClass, DataEpochRepository
from node.store.holds import HoldRepository
from node.store.ledger import LedgerRepository
from node.store.models import CaseHoldRow, HeldReadRow, ReadRow
from tests.support.federation import NodeSpec, add_reads, federation

HELD, OTHER = "7QRS482", "8ABC123"
CASE = "24-00123"


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[NodeApp]:
    async with federation(tmp_path, [NodeSpec("culver-city-pd", "CA0190500")]) as (app,):
        # The start's own purge waits on the purge's lock behind this run; the second
        # run waits for it, so no purge with the real clock runs during the test.
        await app.retention.run_once()
        await app.retention.run_once()
        yield app


def _purger(app: NodeApp, days: float) -> Purger:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return Purger(
        sessions=app.sessions,
        engine=app.engine,
        ledger=app.ledger,
        recorder=app.recorder,
        settings=lambda: load_settings(app.config.home),
        clock=lambda: later,
    )


def _entries(app: NodeApp, entry_type: str) -> list[dict[str, object]]:
    with session_scope(app.sessions) as s:
        repo = LedgerRepository(s)
        size = repo.size(app.ledger.log_id)
        entries = [decode_entry(e.entry) for e in repo.entries(app.ledger.log_id, 0, size)]
    return [dict(e.fields) for e in entries if e.type == entry_type]


def _count(app: NodeApp, model: type[object]) -> int:
    with session_scope(app.sessions) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _on_disk(app: NodeApp) -> bytes:
    path = sqlite_path(app.engine.url)
    assert path is not None
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _request(**overrides: object) -> HoldRequest:
    fields: dict[str, object] = {
        "case_number": CASE,
        "approver": "Lt. Reyes",
        "reason": "homicide investigation",
        "expires": dt.datetime.now(dt.UTC) + dt.timedelta(days=60),
        "plate": HELD,
    }
    fields.update(overrides)
    return HoldRequest(**fields)  # type: ignore[arg-type]


def _classes(done: list[Purged]) -> set[tuple[DataClass, int]]:
    return {(p.data_class, p.epoch) for p in done}


async def test_a_held_read_survives_its_days_purge_and_goes_when_the_hold_expires(
    node: NodeApp,
) -> None:
    read_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    add_reads(node, [HELD, OTHER], at=read_at)
    day = day_epoch(read_at)
    added = await node.holds.add(_request())
    hold = added.hold
    assert hold.held == 1
    with session_scope(node.sessions) as s:
        copy = s.scalars(select(HeldReadRow.plate_ciphertext)).one()
        hold_key = HoldRepository(s).key(hold.id)
        day_key = DataEpochRepository(s).get(DataClass.READS, day).key  # type: ignore[union-attr]
    assert hold_key is not None and day_key is not None

    # The ledger has the hold, with the case only as its commitment and no plate.
    (logged,) = [e for e in _entries(node, "admin.action") if e["action"] == "hold.add"]
    detail = str(logged["detail"])
    assert f"hold={hold.id}" in detail and "reads=1" in detail
    assert f"case_commit={case_commit(hold.case_salt, CASE)}" in detail
    assert CASE not in repr(logged) and HELD not in repr(logged) and "Reyes" not in repr(logged)

    # Day + 32: the day is purged (both reads, its key); the held copy stays and opens.
    purged = await _purger(node, 32).run_once()
    assert (DataClass.READS, day) in _classes(purged)
    assert (DataClass.HELD_READS, hold.id) not in _classes(purged)
    assert _count(node, ReadRow) == 0
    with session_scope(node.sessions) as s:
        kept = held_reads(s, hold.id)
    assert [r.plate for r in kept] == [HELD]
    assert day_key not in _on_disk(node)

    # Day + 61: the hold expired, so its copy and its key go and the purge is logged.
    purged = await _purger(node, 61).run_once()
    assert (DataClass.HELD_READS, hold.id) in _classes(purged)
    assert _count(node, HeldReadRow) == 0
    with session_scope(node.sessions) as s:
        assert held_reads(s, hold.id) == []
        assert HoldRepository(s).key(hold.id) is None
        assert s.scalars(select(CaseHoldRow.plate_lookup)).one() is None
    on_disk = _on_disk(node)
    assert copy not in on_disk and hold_key not in on_disk
    deleted = [
        e
        for e in _entries(node, "retention.deleted")
        if e["data_class"] == "held_reads" and e["epoch"] == hold.id
    ]
    assert len(deleted) == 1
    assert deleted[0]["counts"] == {"data_keys": 1, "held_reads": 1}
    assert await _purger(node, 62).run_once() == []


async def test_a_released_hold_goes_at_the_next_purge_and_the_read_keeps_its_own_age(
    node: NodeApp,
) -> None:
    read_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    add_reads(node, [HELD, OTHER], at=read_at)
    hold = (await node.holds.add(_request())).hold
    second = (await node.holds.add(_request(case_number="24-00999"))).hold
    released, index = await node.holds.release(hold.id, admin="sgt-okafor")
    assert released.released_at is not None
    (logged,) = [e for e in _entries(node, "admin.action") if e["action"] == "hold.release"]
    assert f"hold={hold.id}" in str(logged["detail"]) and HELD not in repr(logged)
    with pytest.raises(Exception, match="already released"):
        await node.holds.release(hold.id, admin="sgt-okafor")

    # Next run, the same day: the released hold's copy goes; the read itself is within its
    # own class's age and stays; the other hold on the same read is untouched.
    purged = await _purger(node, 0).run_once()
    assert (DataClass.HELD_READS, hold.id) in _classes(purged)
    assert _count(node, ReadRow) == 2
    with session_scope(node.sessions) as s:
        assert held_reads(s, hold.id) == []
        assert [r.plate for r in held_reads(s, second.id)] == [HELD]
    assert index > 0


async def test_holds_without_what_they_need_are_refused_and_nothing_is_stored(
    node: NodeApp,
) -> None:
    add_reads(node, [HELD], at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    size = node.ledger.head.size
    refused: list[dict[str, object]] = [
        {"case_number": ""},
        {"approver": ""},
        {"expires": None},
        {"expires": dt.datetime.now(dt.UTC) - dt.timedelta(days=1)},
        {"plate": "NOSUCH1"},
        {"plate": None, "read_ids": (12345,)},
    ]
    for overrides in refused:
        with pytest.raises(InvalidHoldError):
            await node.holds.add(_request(**overrides))
    with session_scope(node.sessions) as s:
        assert HoldRepository(s).all() == []
    assert _count(node, HeldReadRow) == 0
    assert node.ledger.head.size == size


async def test_an_interrupted_hold_purge_resumes_with_one_entry(node: NodeApp) -> None:
    add_reads(node, [HELD], at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    hold = (await node.holds.add(_request())).hold
    await node.holds.release(hold.id, admin="sgt-okafor")
    for step in ("intent", "deleted", "appended"):
        crashing = _purger(node, 0)

        def crash(name: str, step: str = step) -> None:
            if name == step:
                raise PurgeInterruptedError(f"simulated crash after {name}")

        crashing.failure_hook = crash
        with pytest.raises(PurgeInterruptedError):
            await crashing.run_once()
    await _purger(node, 0).run_once()
    assert _count(node, HeldReadRow) == 0
    deleted = [
        e
        for e in _entries(node, "retention.deleted")
        if e["data_class"] == "held_reads" and e["epoch"] == hold.id
    ]
    assert len(deleted) == 1


async def test_a_hold_whose_entry_was_never_logged_is_purged(node: NodeApp) -> None:
    """The node stopped between storing a hold and logging it: the hold never took effect."""
    add_reads(node, [HELD], at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    desk = node.holds
    request = _request()
    from node.retention.holds import check_request

    selector = check_request(
        request, now=dt.datetime.now(dt.UTC), settings=load_settings(node.config.home)
    )
    stored = desk._store(request, selector, dt.datetime.now(dt.UTC))
    purged = await _purger(node, 0).run_once()
    assert (DataClass.HELD_READS, stored.id) in _classes(purged)
    assert _count(node, HeldReadRow) == 0


def _grpc_code(e: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> grpc.StatusCode:
    return e.value.code()


async def test_the_admin_api_answers_holds_with_precise_statuses(node: NodeApp) -> None:
    add_reads(node, [HELD], at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    endpoint = f"127.0.0.1:{node.server.port}"
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    stamp = _stamp
    async with node_admin(node.config.home, endpoint=endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.AddHold(
                node_admin_pb2.AddHoldCommand(
                    approver="Lt. Reyes", reason="r", expires=stamp(expires), plate=HELD
                )
            )
        assert _grpc_code(e) is grpc.StatusCode.INVALID_ARGUMENT
        assert "case number" in (e.value.details() or "")
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.AddHold(
                node_admin_pb2.AddHoldCommand(
                    case_number=CASE, approver="A", reason="r", expires=stamp(past), plate=HELD
                )
            )
        assert _grpc_code(e) is grpc.StatusCode.INVALID_ARGUMENT
        assert HELD not in (e.value.details() or "")
        made = await stub.AddHold(
            node_admin_pb2.AddHoldCommand(
                case_number=CASE, approver="A", reason="r", expires=stamp(expires), plate=HELD
            )
        )
        assert made.reads == 1 and made.status == "in-force" and made.ledger_index > 0
        listed = await stub.ListHolds(node_admin_pb2.ListHoldsRequest())
        assert [h.hold_id for h in listed.holds] == [made.hold_id]
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.ReleaseHold(node_admin_pb2.ReleaseHoldCommand(hold_id=made.hold_id + 7))
        assert _grpc_code(e) is grpc.StatusCode.NOT_FOUND
        done = await stub.ReleaseHold(node_admin_pb2.ReleaseHoldCommand(hold_id=made.hold_id))
        assert done.status == "released"
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.ReleaseHold(node_admin_pb2.ReleaseHoldCommand(hold_id=made.hold_id))
        assert _grpc_code(e) is grpc.StatusCode.FAILED_PRECONDITION


def _stamp(at: dt.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


@pytest.mark.parametrize("missing", ["--case", "--approver", "--expires"])
def test_the_cli_refuses_a_hold_without_case_approver_or_expiry(
    tmp_path: Path, missing: str
) -> None:
    from typer.testing import CliRunner

    from accord.cli import app as cli
    from node.home import init_node_home

    home = tmp_path / "n"
    init_node_home(
        home,
        name="culver-city-pd",
        ori="CA0190500",
        jurisdiction="US-CA",
        kind="municipal",
        now=dt.datetime.now(dt.UTC),
    )
    given = {"--case": CASE, "--approver": "Lt. Reyes", "--expires": "2027-06-30"}
    del given[missing]
    args = ["node", "hold", "add", "--dir", str(home), "--reason", "r", "--plate", HELD]
    result = CliRunner().invoke(cli, [*args, *(x for kv in given.items() for x in kv)])
    assert result.exit_code == 2
    assert missing in result.output
    blank = CliRunner().invoke(cli, [*args, *(x for kv in given.items() for x in kv), missing, " "])
    said = {"--case": "a hold needs a case number", "--approver": "a hold needs an approver"}
    if missing in said:
        assert blank.exit_code == 1 and said[missing] in blank.output
    else:
        assert blank.exit_code == 2 and "ISO 8601" in blank.output
