"""The demo's private-matching steps: reads, agreements (and a refusal), a hotlist
alert, an ad-hoc query and a refused query, each narrated and checked."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from accord.demo.cities import FEDERAL
from accord.demo.federation import DemoBroker, admit, fetch_directory, free_port, join, remove
from accord.demo.reads import OF_INTEREST, STOLEN, cameras, synthetic_reads
from accord.demo.steps import StepLog
from accord.demo.video import ingest_clip, render_clip
from node.app import NodeApp
from node.exchange.agreement_terms import AgreementTerms
from node.exchange.alerts import Alert
from node.exchange.asking import QueryOutcome
from node.home import init_node_home
from node.ids import AgreementId, NodeId
from node.policy.agreement import LabelDetail, QueryKind
from node.sealed_reads import SealedReads
from node.store.agreements import AgreementRepository
from node.store.cameras import CameraRepository
from node.store.db import session_scope
from node.store.index import IndexRepository

SMPD, CCPD, LAPD = "santa-monica-pd", "culver-city-pd", "los-angeles-pd"
READS_PER_CITY = 1500
DAYS = 7
ALERT_WAIT_S = 30.0


@dataclass
class Learned:
    """What each party learned, for the closing summary."""

    lines: list[str] = field(default_factory=list)


def terms(
    agreement_id: str,
    peer: str,
    *,
    purposes: set[str],
    kinds: set[QueryKind],
    detail: LabelDetail,
    alert_categories: set[str] = frozenset(),  # type: ignore[assignment]
) -> AgreementTerms:
    return AgreementTerms(
        agreement_id=AgreementId(agreement_id),
        peer=NodeId(peer),
        purposes=frozenset(purposes),
        query_kinds=frozenset(kinds),
        window_days=30,
        label_detail=detail,
        plates_per_day=5000,
        max_batch=1000,
        case_number_required=True,
        case_number_pattern=r"^[0-9]{2}-[0-9]{5}$",
        alert_categories=frozenset(alert_categories),
        retention_days=90,
        onward_sharing_banned=True,
        confusable_folding=True,
        valid_from=None,
        valid_until=dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=365),
    )


def load_reads(app: NodeApp, index: int, now: dt.datetime, count: int = READS_PER_CITY) -> str:
    reads = synthetic_reads(app.config.name, index, count=count, days=DAYS, now=now)
    with session_scope(app.sessions) as s:
        repo = CameraRepository(s)
        for camera in cameras(app.config.name, now):
            if repo.get(camera.id) is None:
                repo.add(camera)
        result = SealedReads(s, app.keys.lookup).store(reads, now=now)
    return f"{result.stored} reads from 2 cameras over {DAYS} days, sealed per day"


def index_sizes(app: NodeApp) -> dict[str, int]:
    """Entries in this node's index per agreement in which it answers."""
    with session_scope(app.sessions) as s:
        index = IndexRepository(s)
        return {
            stored.id: index.count(stored.id)
            for stored in AgreementRepository(s).find()
            if stored.role == "responder" and stored.status.value == "active"
        }


async def agree(requester: NodeApp, responder: NodeApp, t: AgreementTerms) -> str:
    view = await requester.agreements.propose(t, admin="demo-admin")
    await responder.agreements.decide(view.agreement_id, view.version, True, "", admin="demo-admin")
    kinds = ", ".join(sorted(k.value for k in t.query_kinds))
    return (
        f"{requester.config.name} may ask {responder.config.name} ({kinds}; "
        f"{t.label_detail.value}); both ledgers record hash {view.agreement_hash.hex()[:16]}..."
    )


async def refused_agreement(federal: NodeApp) -> str:
    from node.exchange.errors import PeerDeniedError

    t = terms(
        "fbi-ccpd",
        CCPD,
        purposes={"fugitive"},
        kinds={QueryKind.HIT_QUERY},
        detail=LabelDetail.TIME_CAMERA_PLACE,
    )
    try:
        await federal.agreements.propose(t, admin="demo-admin")
    except PeerDeniedError as e:
        return f"refused by Culver City's California SB 34 profile: {', '.join(e.rule_ids)}"
    raise RuntimeError("a federal agency's proposal was accepted: SB 34 forbids it")


def import_hotlist(smpd: NodeApp, base: Path, now: dt.datetime) -> str:
    """Santa Monica's hotlist, as an NCIC-style CSV extract the agency would export."""
    from node.hotlists.jobs import import_hotlist_file

    path = base / "santa-monica-pd-hotlist.csv"
    expiry = (now + dt.timedelta(days=30)).strftime("%Y-%m-%d")
    path.write_text(
        "LIC,LIS,ORI,OCA,CATEGORY,REASON,EXPIRY\n"
        f"{STOLEN},CA,CA0194200,26-00071,stolen-vehicle,reported stolen 2026-11-28,{expiry}\n"
    )
    result = import_hotlist_file(
        smpd.config.home, path, "smpd-stolen", name="Santa Monica stolen vehicles", now=now
    )
    return f"{result.result.stored} entry on hotlist smpd-stolen from {path.name}, sealed at rest"


async def alert_on_stolen_car(
    smpd: NodeApp, ccpd: NodeApp, base: Path, console: Console, learned: Learned
) -> str:
    """Santa Monica's hotlist holds a stolen car; it is raised for the sightings already
    in Culver City's and Los Angeles's indexes and again, live, when the car passes a
    Culver City camera now: that camera's footage is read by Culver City's ALPR."""
    smpd.alerts.poll_s = 0.5
    seen: list[Alert] = []
    loop = asyncio.get_running_loop()
    with smpd.alerts.subscription() as queue:
        clip = base / f"{CCPD}-camera-1.mp4"
        length = await asyncio.to_thread(render_clip, clip, [STOLEN])
        live_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        camera = cameras(CCPD, live_at)[0]
        outcome = await asyncio.to_thread(
            ingest_clip, ccpd.config.home, clip, camera.id, started=live_at
        )
        console.print(
            f"    {CCPD}'s ALPR read {clip.name} ({length:.1f} s of footage from "
            f"{camera.name}): {outcome.stats.stored} read(s) stored, sealed"
        )
        if outcome.stats.stored == 0:
            raise RuntimeError(f"{CCPD}'s ALPR read no plate in {clip.name}")
        deadline = loop.time() + ALERT_WAIT_S
        live = False
        while not live and loop.time() < deadline:
            try:
                alert = await asyncio.wait_for(queue.get(), 1.0)
            except TimeoutError:
                continue
            seen.append(alert)
            live = alert.detail.get("time", "") >= live_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            console.print(
                f"    [bold red]ALERT[/] at santa-monica-pd: stolen {alert.plate} seen by "
                f"{alert.peer}, {alert.detail.get('time') or alert.detail.get('day')}, "
                f"{alert.detail.get('camera') or alert.detail.get('city')}"
            )
    if not live:
        raise RuntimeError(f"the live sighting raised no alert within {ALERT_WAIT_S:.0f} s")
    learned.lines.append(
        f"Santa Monica learned {len(seen)} sighting(s) of its stolen car and nothing of the "
        "other traffic; Culver City and Los Angeles learned only that a hotlist of 1 plate "
        "was armed for alerts."
    )
    return f"{len(seen)} alert(s) for the hotlisted stolen car, the last one live"


async def ad_hoc_query(smpd: NodeApp, console: Console, learned: Learned) -> str:
    outcome: QueryOutcome = await smpd.queries.query_hits(
        peers=[CCPD, LAPD],
        plates=[OF_INTEREST, STOLEN, "1ABC234"],
        purpose="homicide",
        case_number="26-00412",
        days=DAYS,
        user="detective-ramos",
    )
    table = Table(
        title="santa-monica-pd asks culver-city-pd and los-angeles-pd (homicide, case 26-00412)"
    )
    for col in ("plate", "seen by", "day", "time", "where"):
        table.add_column(col)
    for h in outcome.hits:
        d = h.detail
        table.add_row(
            h.plate,
            h.peer,
            d.get("day", ""),
            d.get("time", ""),
            d.get("camera") or d.get("city", ""),
        )
    console.print(table)
    for a in outcome.answers:
        if a.outcome != "answered":
            raise RuntimeError(f"{a.peer} {a.outcome}: {a.message}")
    learned.lines.append(
        "Culver City and Los Angeles each learned that Santa Monica asked about 3 plates "
        "for a homicide case (the case number only as a commitment in their ledgers), "
        "never which plates."
    )
    return f"{len(outcome.hits)} hit(s) for 3 plates asked, receipts verified from both ledgers"


async def refused_query(lapd: NodeApp) -> str:
    outcome = await lapd.queries.query_hits(
        peers=[CCPD],
        plates=[STOLEN],
        purpose="immigration",
        case_number="26-00001",
        days=DAYS,
        user="officer-lee",
    )
    (answer,) = outcome.answers
    if answer.outcome != "refused" or outcome.hits:
        raise RuntimeError("a query outside the agreement's purposes was answered")
    return f"refused by culver-city-pd: {', '.join(answer.rule_ids)}; nothing evaluated"


async def run_exchange(
    log: StepLog,
    apps: dict[str, NodeApp],
    base: Path,
    now: dt.datetime,
    console: Console,
    learned: Learned,
    broker: DemoBroker | None,
    reads_per_city: int = READS_PER_CITY,
) -> None:
    """Agreements, indexing, an alert, an ad-hoc query and two refusals."""
    smpd, ccpd, lapd = apps[SMPD], apps[CCPD], apps[LAPD]
    console.rule("[bold]Agreements and private matching")
    for i, (name, app) in enumerate(apps.items()):

        async def load(app: NodeApp = app, i: int = i) -> str:
            return await asyncio.to_thread(load_reads, app, i, now, reads_per_city)

        await log.run(f"{name} stores its camera reads", load)
    every = {QueryKind.HIT_QUERY, QueryKind.INDEX_STREAM, QueryKind.ALERTS}
    pairs = [
        (
            smpd,
            ccpd,
            terms(
                "smpd-ccpd-2026",
                CCPD,
                purposes={"stolen-vehicle", "homicide"},
                kinds=every,
                detail=LabelDetail.TIME_CAMERA_PLACE,
                alert_categories={"stolen-vehicle"},
            ),
        ),
        (
            smpd,
            lapd,
            terms(
                "smpd-lapd-2026",
                LAPD,
                purposes={"stolen-vehicle", "homicide"},
                kinds=every,
                detail=LabelDetail.DAY_AND_CITY,
                alert_categories={"stolen-vehicle"},
            ),
        ),
        (
            lapd,
            ccpd,
            terms(
                "lapd-ccpd-2026",
                CCPD,
                purposes={"stolen-vehicle"},
                kinds={QueryKind.HIT_QUERY},
                detail=LabelDetail.DAY_AND_CITY,
            ),
        ),
    ]
    for requester, responder, t in pairs:

        async def sign(
            r: NodeApp = requester, p: NodeApp = responder, t: AgreementTerms = t
        ) -> str:
            return await agree(r, p, t)

        await log.run(f"agreement {t.agreement_id}", sign)
    await _federal_refused(log, ccpd, broker, base, now)
    for name, app in apps.items():

        async def index(app: NodeApp = app) -> str:
            await app.indexer.run_once()  # the background indexer may have begun already
            held = await asyncio.to_thread(index_sizes, app)
            if not held:
                return "answers no agreement: nothing to index"
            sizes = ", ".join(f"{n} for {a}" for a, n in held.items())
            return f"encrypted index entries, unlinkable, one per read and agreement: {sizes}"

        await log.run(f"{name} indexes its reads for its agreements", index)

    async def alert() -> str:
        return await alert_on_stolen_car(smpd, ccpd, base, console, learned)

    async def query() -> str:
        return await ad_hoc_query(smpd, console, learned)

    async def refusal() -> str:
        return await refused_query(lapd)

    async def hotlist() -> str:
        return await asyncio.to_thread(import_hotlist, smpd, base, now)

    await log.run("santa-monica-pd imports its hotlist", hotlist)
    await log.run("hotlist alert at santa-monica-pd", alert)
    await log.run("ad-hoc query with purpose and case number", query)
    await log.run("a query outside its agreement", refusal)


async def _federal_refused(
    log: StepLog, ccpd: NodeApp, broker: DemoBroker | None, base: Path, now: dt.datetime
) -> None:
    """A federal agency, admitted to the federation, asks Culver City for an agreement:
    California SB 34 refuses it. Then the operator removes it, and Culver City refuses
    its calls from the next directory refresh on."""
    home = base / FEDERAL.name
    federal: NodeApp | None = None
    if broker is None:
        return
    try:

        async def start() -> str:
            nonlocal federal
            port = free_port()
            init_node_home(
                home,
                name=FEDERAL.name,
                ori=FEDERAL.ori,
                jurisdiction=FEDERAL.jurisdiction,
                kind=FEDERAL.kind,
                listen=f"127.0.0.1:{port}",
                legal_profile="baseline",
                now=now,
            )
            join(home, broker)
            version = admit(broker, FEDERAL, home, f"127.0.0.1:{port}", now)
            federal = NodeApp.open(home)
            await federal.start()
            await fetch_directory(ccpd)
            await fetch_directory(federal)
            return (
                f"{FEDERAL.label} ({FEDERAL.kind}) serving on 127.0.0.1:{port}, "
                f"admitted in directory version {version}"
            )

        if await log.run(f"start {FEDERAL.name}", start) and federal is not None:
            node = federal

            async def ask() -> str:
                return await refused_agreement(node)

            await log.run(f"{FEDERAL.name} proposes an agreement to {CCPD}", ask)
    finally:
        if federal is not None:
            await federal.close()

            async def removed() -> str:
                version = remove(broker, FEDERAL.name, now)
                return f"directory version {version}; {CCPD}: " + await fetch_directory(ccpd)

            await log.run(f"the operator removes {FEDERAL.name}", removed)
