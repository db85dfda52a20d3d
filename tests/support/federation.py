"""Real nodes for integration tests: homes initialised, servers on 127.0.0.1:0 with real
mutual TLS, every node pinned as every other's peer, reads stored through the real
sealing path, and agreements made through the real propose/accept workflow."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from node.alpr.reads import Candidate
from node.app import NodeApp, add_peer_from_files, own_card_paths
from node.exchange.agreement_terms import AgreementTerms
from node.home import init_node_home
from node.ids import AgreementId, CameraId, NodeId
from node.ingest.observed import ObservedRead
from node.policy.agreement import LabelDetail, QueryKind
from node.sealed_reads import SealedReads
from node.store.cameras import Camera, CameraRepository
from node.store.db import session_scope


@dataclass(frozen=True)
class NodeSpec:
    name: str
    ori: str
    jurisdiction: str = "US-CA"
    kind: str = "municipal"


def init_homes(tmp_path: Path, specs: Sequence[NodeSpec]) -> list[Path]:
    """``accord node init`` for each spec, in ``tmp_path/<name>``."""
    now = dt.datetime.now(dt.UTC)
    homes = []
    for spec in specs:
        home = tmp_path / spec.name
        init_node_home(
            home,
            name=spec.name,
            ori=spec.ori,
            jurisdiction=spec.jurisdiction,
            kind=spec.kind,
            now=now,
        )
        homes.append(home)
    return homes


@contextlib.asynccontextmanager
async def federation(tmp_path: Path, specs: Sequence[NodeSpec]) -> AsyncIterator[list[NodeApp]]:
    now = dt.datetime.now(dt.UTC)
    homes = init_homes(tmp_path, specs)
    apps = [NodeApp.open(h, listen="127.0.0.1:0") for h in homes]
    for app in apps:
        app.publish_interval_s = 3600  # checkpoints only when a test (or an answer) asks
    ports = [await app.start() for app in apps]
    try:
        for i, home in enumerate(homes):
            for j, other in enumerate(homes):
                if i != j:
                    cert, card = own_card_paths(other)
                    add_peer_from_files(
                        home,
                        cert_path=cert,
                        keys_path=card,
                        endpoint=f"127.0.0.1:{ports[j]}",
                        now=now,
                    )
        yield apps
    finally:
        for app in apps:
            await app.close()


def add_reads(
    app: NodeApp, plates: Sequence[str], *, at: dt.datetime, camera: str = "cam-pier-01"
) -> None:
    """Store one read per plate on ``app`` through the real sealing path."""
    with session_scope(app.sessions) as s:
        cameras = CameraRepository(s)
        if cameras.get(CameraId(camera)) is None:
            cameras.add(Camera(CameraId(camera), "Pier entrance", 34.0094, -118.4973, 270.0, at))
        SealedReads(s, app.keys.lookup).store(
            [
                ObservedRead(
                    camera_id=CameraId(camera),
                    time=at + dt.timedelta(seconds=i),
                    candidates=(Candidate(p, p, 0.95),),
                    source="test",
                    external_id=f"r{i}-{at.timestamp():.0f}",
                )
                for i, p in enumerate(plates)
            ],
            now=at,
        )


def terms(peer: str, agreement_id: str = "smpd-ccpd-2026", **overrides: object) -> AgreementTerms:
    fields: dict[str, object] = {
        "agreement_id": AgreementId(agreement_id),
        "peer": NodeId(peer),
        "purposes": frozenset({"stolen-vehicle", "homicide"}),
        "query_kinds": frozenset({QueryKind.HIT_QUERY, QueryKind.INDEX_STREAM}),
        "window_days": 30,
        "label_detail": LabelDetail.TIME_CAMERA_PLACE,
        "plates_per_day": 5000,
        "max_batch": 1000,
        "case_number_required": True,
        "case_number_pattern": None,
        "alert_categories": frozenset(),
        "retention_days": 90,
        "onward_sharing_banned": True,
        "confusable_folding": True,
        "valid_from": None,
        "valid_until": dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=365),
    }
    fields.update(overrides)
    return AgreementTerms(**fields)  # type: ignore[arg-type]


async def agree(requester: NodeApp, responder: NodeApp, **overrides: object) -> AgreementId:
    """An agreement proposed by ``requester`` and accepted by ``responder``."""
    agreement_id = str(overrides.pop("agreement_id", "smpd-ccpd-2026"))
    view = await requester.agreements.propose(
        terms(responder.config.name, agreement_id, **overrides), admin="admin-a"
    )
    await responder.agreements.decide(view.agreement_id, view.version, True, "", admin="admin-b")
    return view.agreement_id


async def index_all(responder: NodeApp, agreement_id: AgreementId) -> int:
    """Index what ``responder`` holds for ``agreement_id`` now; returns the entries it
    has for it. The node's background indexer may have got there first, so the count is
    read from the index rather than from this run."""
    from node.store.db import session_scope
    from node.store.index import IndexRepository

    await responder.indexer.run_once()
    with session_scope(responder.sessions) as s:
        return IndexRepository(s).count(agreement_id)
