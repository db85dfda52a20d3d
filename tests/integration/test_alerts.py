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

from crypto.entries import Entry
from node.app import NodeApp
from node.exchange.alerts import Alert, WatchedPlate
from node.ids import NodeId
from node.policy.agreement import QueryKind
from tests.support.federation import NodeSpec, add_reads, agree, federation

KINDS = frozenset({QueryKind.HIT_QUERY, QueryKind.INDEX_STREAM, QueryKind.ALERTS})
SPECS = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
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


async def agree_to_alerts(smpd: NodeApp, ccpd: NodeApp, **terms: object) -> None:
    """Santa Monica may ask Culver City and be alerted on its stolen-vehicle hotlist."""
    await agree(
        smpd,
        ccpd,
        query_kinds=KINDS,
        alert_categories=frozenset({"stolen-vehicle"}),
        **terms,
    )


async def until_watching(app: NodeApp) -> None:
    app.alerts.wake()
    for _ in range(100):
        if app.alerts.watching:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the alert watcher did not start watching the agreement")


async def next_alert(queue: asyncio.Queue[Alert], within: float = 30.0) -> Alert:
    return await asyncio.wait_for(queue.get(), within)


async def test_a_watched_plate_read_by_the_peer_raises_an_alert(
    tmp_path: Path, webhook: tuple[str, list[dict[str, object]]]
) -> None:
    url, posted = webhook
    async with federation(tmp_path, SPECS) as (smpd, ccpd):
        smpd.hotlist_override = WATCHED
        smpd.alerts.poll_s = 0.2
        smpd.alerts._webhook = url  # as [alerts] webhook in accord.toml would
        now = dt.datetime.now(dt.UTC)
        add_reads(ccpd, ["7QRS482", "5XYZ999", "3IMM001"], at=now - dt.timedelta(minutes=10))
        with smpd.alerts.subscription() as queue:
            await agree_to_alerts(smpd, ccpd)
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
    async with federation(tmp_path, SPECS) as (smpd, ccpd):
        # Two watched plates, but the agreement allows one plate a day: arming is refused.
        smpd.hotlist_override = [
            WATCHED[0],
            WatchedPlate("8ABC123", "ncic-stolen", "24-00999", "stolen-vehicle"),
        ]
        smpd.alerts.poll_s = 0.2
        now = dt.datetime.now(dt.UTC)
        with smpd.alerts.subscription() as queue:
            await agree_to_alerts(smpd, ccpd, plates_per_day=1, max_batch=1)
            await until_watching(smpd)
            for i in range(3):
                add_reads(ccpd, [f"1AAA{i}00", "7QRS482"], at=now - dt.timedelta(minutes=i + 1))
                await asyncio.sleep(1.5)
            assert queue.empty()
        assert len(sent_queries(smpd)) == 1, "each arriving entry asked the peer again"


def sent_queries(app: NodeApp) -> list[Entry]:
    from crypto.entries import decode_entry
    from node.store.db import session_scope
    from node.store.ledger import LedgerRepository

    with session_scope(app.sessions) as s:
        repo = LedgerRepository(s)
        rows = repo.entries(app.ledger.log_id, 0, repo.size(app.ledger.log_id))
    return [e for e in (decode_entry(r.entry) for r in rows) if e.type == "query.sent"]


async def replica_holds(app: NodeApp, peer: NodeApp, entries: int) -> None:
    from node.store.db import session_scope
    from node.store.index import PeerIndexRepository

    agreement_id = next(iter(app.alerts.watching))
    for _ in range(300):
        with session_scope(app.sessions) as s:
            cursor = PeerIndexRepository(s).cursor(NodeId(peer.config.name), agreement_id)
        if cursor >= entries:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the replica holds {cursor} entries, not {entries}")


async def test_a_plate_put_on_the_hotlist_after_its_sighting_arrived_is_raised_at_once(
    tmp_path: Path,
) -> None:
    """The index stream brought today's entries while the hotlist was empty: nothing was
    asked of the peer then. Importing the stolen car arms the epoch within a poll and
    raises the sighting already held, then the live one; the plates not watched stay
    unknown."""
    async with federation(tmp_path, SPECS) as (smpd, ccpd):
        smpd.hotlist_override = []
        smpd.alerts.poll_s = 0.2
        now = dt.datetime.now(dt.UTC)
        add_reads(ccpd, ["7QRS482", "5XYZ999"], at=now - dt.timedelta(minutes=10))
        with smpd.alerts.subscription() as queue:
            await agree_to_alerts(smpd, ccpd)
            await until_watching(smpd)
            await replica_holds(smpd, ccpd, 2)
            await asyncio.sleep(0.5)  # the watcher considered both entries
            assert queue.empty()
            assert sent_queries(smpd) == [], "an empty hotlist asked the peer"

            smpd.hotlist_override = [WATCHED[0]]
            earlier = await next_alert(queue)
            assert (earlier.plate, earlier.detail["camera"]) == ("7QRS482", "Pier entrance")
            add_reads(ccpd, ["7QRS482"], at=now - dt.timedelta(minutes=1))
            live = await next_alert(queue)
            assert live.plate == "7QRS482"
            assert live.detail["time"] != earlier.detail["time"]
        assert len(sent_queries(smpd)) == 1


async def test_a_hotlist_change_arms_only_the_added_plates_and_silences_the_removed(
    tmp_path: Path,
) -> None:
    second = WatchedPlate("8ABC123", "ncic-stolen", "24-00999", "stolen-vehicle")
    async with federation(tmp_path, SPECS) as (smpd, ccpd):
        smpd.hotlist_override = [WATCHED[0]]
        smpd.alerts.poll_s = 0.2
        now = dt.datetime.now(dt.UTC)
        add_reads(ccpd, ["7QRS482", "8ABC123"], at=now - dt.timedelta(minutes=10))
        with smpd.alerts.subscription() as queue:
            await agree_to_alerts(smpd, ccpd)
            first = await next_alert(queue)
            assert first.plate == "7QRS482"

            smpd.hotlist_override = [WATCHED[0], second]
            added = await next_alert(queue)  # its sighting was held already
            assert (added.plate, added.case_number) == ("8ABC123", "24-00999")
            sent = sent_queries(smpd)
            assert [e.fields["batch_size"] for e in sent] == [1, 1], "not only the added plate"

            smpd.hotlist_override = [second]  # 7QRS482 recovered
            await asyncio.sleep(1.0)
            add_reads(ccpd, ["7QRS482", "8ABC123"], at=now - dt.timedelta(minutes=1))
            live = await next_alert(queue)
            assert live.plate == "8ABC123"
            await asyncio.sleep(2.0)
            assert queue.empty(), "a plate taken off the hotlist was still raised"
        assert len(sent_queries(smpd)) == 2, "taking a plate off asked the peer again"
