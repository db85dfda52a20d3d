"""``accord node retention purge --now`` and ``accord node hold``: real processes against a
running node, over mutual TLS with the node's own certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from node.app import NodeApp
from node.home import init_node_home
from node.sealed_reads import day_epoch
from node.store.db import session_scope
from node.store.models import HeldReadRow, ReadRow
from tests.support.cli import accord
from tests.support.federation import add_reads

OLD, HELD = "6TRJ244", "7QRS482"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[NodeApp]:
    home = tmp_path / "santa-monica-pd"
    init_node_home(
        home,
        name="santa-monica-pd",
        ori="CA0194200",
        jurisdiction="US-CA",
        kind="municipal",
        listen=f"127.0.0.1:{_free_port()}",
        now=dt.datetime.now(dt.UTC),
    )
    app = NodeApp.open(home)
    app.publish_interval_s = 3600
    await app.start()
    try:
        # The start's own purge waits on the purge's lock behind this run; the second
        # run waits for it, so no purge with the real clock runs during the test.
        await app.retention.run_once()
        await app.retention.run_once()
        yield app
    finally:
        await app.close()


def _count(app: NodeApp, model: type[object]) -> int:
    with session_scope(app.sessions) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


async def _accord(*args: str) -> tuple[int, str, str]:
    done = await asyncio.to_thread(accord, *args)
    return done.returncode, done.stdout, done.stderr


async def test_purge_now_and_holds_through_the_running_node(node: NodeApp) -> None:
    home = str(node.config.home)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    add_reads(node, [OLD], at=old)
    add_reads(node, [HELD], at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))

    rc, out, err = await _accord(
        "node", "hold", "add", "--dir", home, "--case", "24-00123", "--approver", "Lt. Reyes",
        "--expires", "2099-06-30", "--reason", "homicide", "--plate", HELD,
    )  # fmt: skip
    assert rc == 1 and "held_reads setting" in err and len(err.strip().splitlines()) == 1
    expires = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    rc, out, err = await _accord(
        "node", "hold", "add", "--dir", home, "--case", "24-00123", "--approver", "Lt. Reyes",
        "--expires", expires, "--reason", "homicide", "--plate", HELD,
    )  # fmt: skip
    assert rc == 0, err
    assert "hold 1 for case 24-00123: 1 read(s) kept" in out
    rc, out, err = await _accord(
        "node", "hold", "add", "--dir", home, "--case", "24-00124", "--approver", "Lt. Reyes",
        "--expires", "2020-01-01", "--reason", "old", "--plate", HELD,
    )  # fmt: skip
    assert rc == 1 and "not in the future" in err and len(err.strip().splitlines()) == 1

    assert _count(node, ReadRow) == 2
    rc, out, err = await _accord("node", "retention", "purge", "--now", "--dir", home)
    assert rc == 0, err
    rows = [row for row in out.splitlines() if f" {day_epoch(old)} " in row]
    assert rows, out
    line = rows[0]
    assert "reads" in line and "reads 1" in line
    assert _count(node, ReadRow) == 1  # today's read is inside its 30 days
    assert _count(node, HeldReadRow) == 1

    rc, out, err = await _accord("node", "hold", "list", "--dir", home)
    assert rc == 0, err
    assert "24-00123" in out and "in-force" in out and HELD not in out
    rc, out, err = await _accord("node", "hold", "release", "--dir", home, "1", "--admin", "sgt")
    assert rc == 0, err
    assert "hold 1 released" in out
    rc, out, err = await _accord("node", "hold", "release", "--dir", home, "1", "--admin", "sgt")
    assert rc == 1 and err.startswith("error: FAILED_PRECONDITION: hold 1 was already released")
    rc, out, err = await _accord("node", "hold", "release", "--dir", home, "9")
    assert rc == 1 and err.startswith("error: NOT_FOUND: no hold 9")

    rc, out, err = await _accord("node", "retention", "purge", "--now", "--dir", home)
    assert rc == 0, err
    assert any("held_reads" in row and "held_reads 1" in row for row in out.splitlines())
    assert _count(node, HeldReadRow) == 0
    rc, out, err = await _accord("node", "retention", "purge", "--now", "--dir", home)
    assert rc == 0 and "nothing was due" in out


async def test_purge_now_without_a_running_node_says_so(tmp_path: Path) -> None:
    home = tmp_path / "idle"
    init_node_home(
        home,
        name="idle-pd",
        ori="CA0000009",
        jurisdiction="US-CA",
        kind="municipal",
        listen=f"127.0.0.1:{_free_port()}",
        now=dt.datetime.now(dt.UTC),
    )
    rc, out, err = await _accord("node", "retention", "purge", "--now", "--dir", str(home))
    assert rc == 1 and "does not answer" in err and len(err.strip().splitlines()) == 1
    rc, out, err = await _accord("node", "retention", "purge", "--dir", str(home))
    assert rc == 0 and "every hour" in out and "--now" in out
