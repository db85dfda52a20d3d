"""What crosses the wire and what the ledgers hold: never a plate, never a hash of one.

Every message of a two-node run (agreement, index fetch, hit queries, refusals) is
captured in both directions as its serialized bytes, together with every ledger entry of
both nodes and every log line. None may contain a plate of the run, in any spelling, or
its SHA-256, SHA-1, MD5, BLAKE2b or BLAKE2s (raw or hex), nor a plate that was asked
about. The only places plates may exist are the two nodes' own read stores (sealed) and
the requester's own result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc.aio
import pytest

from node.app import NodeApp
from node.store.db import session_scope
from node.store.ledger import LedgerRepository
from tests.support.federation import NodeSpec, add_reads, agree, federation

SEEN = ["7QRS482", "8ABC123", "6TRJ244"]
ASKED_ONLY = ["4NOPE00", "9ZZZ111"]


class Capture(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    """Records the serialized bytes of every request and response."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        self.frames.append(request.SerializeToString())
        call = await continuation(details, request)
        try:
            self.frames.append((await call).SerializeToString())
        except grpc.aio.AioRpcError as e:
            self.frames.append(str(e.details()).encode() + repr(e.trailing_metadata()).encode())
        return call

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        self.frames.append(request.SerializeToString())
        return await continuation(details, request)


def spellings(plate: str) -> set[bytes]:
    forms = {plate, plate.lower(), plate[:3] + " " + plate[3:], plate[:3] + "-" + plate[3:]}
    forms |= {f.lower() for f in forms}
    out: set[bytes] = set()
    for form in forms:
        raw = form.encode()
        out.add(raw)
        for algorithm in ("sha256", "sha1", "md5", "blake2b", "blake2s"):
            digest = hashlib.new(algorithm, raw).digest()
            out |= {digest, digest.hex().encode(), digest.hex().upper().encode()}
    return out


def ledger_bytes(app: NodeApp) -> list[bytes]:
    with session_scope(app.sessions) as s:
        repo = LedgerRepository(s)
        rows = repo.entries(app.ledger.log_id, 0, repo.size(app.ledger.log_id))
    return [r.entry for r in rows]


async def test_nothing_outside_the_read_stores_holds_a_plate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    specs = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
    async with federation(tmp_path, specs) as (smpd, ccpd):
        captures = [Capture(), Capture()]
        smpd.channel_interceptors.append(captures[0])
        ccpd.channel_interceptors.append(captures[1])
        add_reads(ccpd, SEEN, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        await agree(smpd, ccpd)
        await ccpd.indexer.run_once()
        base = {"peers": ["culver-city-pd"], "case_number": "24-00123", "days": 3, "user": "o-1"}
        found = await smpd.queries.query_hits(
            plates=[SEEN[0], *ASKED_ONLY],
            purpose="stolen-vehicle",
            **base,  # type: ignore[arg-type]
        )
        refused = await smpd.queries.query_hits(
            plates=[SEEN[1]],
            purpose="immigration",
            **base,  # type: ignore[arg-type]
        )
        assert [h.plate for h in found.hits] == [SEEN[0]]
        assert refused.answers[0].outcome == "refused"
        haystacks = {
            "wire": [f for c in captures for f in c.frames],
            "ledger of santa-monica-pd": ledger_bytes(smpd),
            "ledger of culver-city-pd": ledger_bytes(ccpd),
            "logs": [r.getMessage().encode() for r in caplog.records],
        }
    assert haystacks["wire"], "nothing was captured: the test would prove nothing"
    needles = {p: spellings(p) for p in SEEN + ASKED_ONLY}
    for where, items in haystacks.items():
        blob = b"\x00".join(items)
        for plate, forms in needles.items():
            leaked = [f for f in forms if f in blob]
            assert not leaked, f"{where} holds a form of {plate}: {leaked[:3]}"
