"""Real-time alerts between two real nodes: a hotlist plate read by the peer is raised here.

Santa Monica watches Culver City's index stream under an agreement that shares the
stolen-vehicle category. A read of a watched plate at Culver City reaches Santa Monica
as an alert (with the detail the agreement allows) and as a webhook POST; a plate of a
category the agreement does not share, and plates nobody watches, raise nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.exchange.alerts import Alert, WatchedPlate
from node.policy.agreement import QueryKind
from tests.support.federation import NodeSpec, add_reads, agree, federation

KINDS = frozenset({QueryKind.HIT_QUERY, QueryKind.INDEX_STREAM, QueryKind.ALERTS})
WATCHED = [
    WatchedPlate("7QRS482", "ncic-stolen", "24-00123", "stolen-vehicle"),
    WatchedPlate("3IMM001", "ice-list", "25-00001", "immigration-violator"),
]


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    finally:
        server.shutdown()


async def next_alert(queue: asyncio.Queue[Alert], within: float = 30.0) -> Alert:
    return await asyncio.wait_for(queue.get(), within)


async def test_a_watched_plate_read_by_the_peer_raises_an_alert(
    tmp_path: Path, webhook: tuple[str, list[dict[str, object]]]
) -> None:
    url, posted = webhook
    specs = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
    async with federation(tmp_path, specs) as (smpd, ccpd):
        smpd.hotlist_override = WATCHED
        smpd.alerts.poll_s = 0.2
        smpd.alerts._webhook = url  # as [alerts] webhook in accord.toml would
        now = dt.datetime.now(dt.UTC)
        add_reads(ccpd, ["7QRS482", "5XYZ999", "3IMM001"], at=now - dt.timedelta(minutes=10))
        with smpd.alerts.subscription() as queue:
            await agree(
                smpd,
                ccpd,
                query_kinds=KINDS,
                alert_categories=frozenset({"stolen-vehicle"}),
            )
            earlier = await next_alert(queue)  # the read made before the watch was armed
            assert (earlier.plate, earlier.category, earlier.peer) == (
                "7QRS482",
                "stolen-vehicle",
                "culver-city-pd",
            )
            assert earlier.detail["camera"] == "Pier entrance"
            add_reads(ccpd, ["9OTH999", "7QRS482"], at=now - dt.timedelta(minutes=1))
            live = await next_alert(queue)
            assert live.plate == "7QRS482"
            assert live.detail["time"] != earlier.detail["time"]
            await asyncio.sleep(2.0)  # the indexer and the stream had time for more
            assert queue.empty(), "an unshared category or an unwatched plate raised an alert"
        for _ in range(50):
            if len(posted) >= 2:
                break
            await asyncio.sleep(0.1)
        assert [p["plate"] for p in posted] == ["7QRS482", "7QRS482"]


async def test_a_refused_arming_is_not_retried_for_every_entry(tmp_path: Path) -> None:
    from crypto.entries import decode_entry
    from node.store.db import session_scope
    from node.store.ledger import LedgerRepository

    specs = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
    async with federation(tmp_path, specs) as (smpd, ccpd):
        # Two watched plates, but the agreement allows one plate a day: arming is refused.
        smpd.hotlist_override = [
            WATCHED[0],
            WatchedPlate("8ABC123", "ncic-stolen", "24-00999", "stolen-vehicle"),
        ]
        smpd.alerts.poll_s = 0.2
        now = dt.datetime.now(dt.UTC)
        with smpd.alerts.subscription() as queue:
            await agree(
                smpd,
                ccpd,
                query_kinds=KINDS,
                alert_categories=frozenset({"stolen-vehicle"}),
                plates_per_day=1,
                max_batch=1,
            )
            smpd.alerts.wake()
            for _ in range(100):
                if smpd.alerts.watching:
                    break
                await asyncio.sleep(0.05)
            assert smpd.alerts.watching
            for i in range(3):
                add_reads(ccpd, [f"1AAA{i}00", "7QRS482"], at=now - dt.timedelta(minutes=i + 1))
                await asyncio.sleep(1.5)
            assert queue.empty()
        with session_scope(smpd.sessions) as s:
            repo = LedgerRepository(s)
            rows = repo.entries(smpd.ledger.log_id, 0, repo.size(smpd.ledger.log_id))
        sent = [e for e in (decode_entry(r.entry) for r in rows) if e.type == "query.sent"]
        assert len(sent) == 1, "each arriving entry asked the peer again"
