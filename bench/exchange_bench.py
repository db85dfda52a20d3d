"""Exchange benchmark: indexing at ingest, a hotlist query end to end, index bytes per read.

Run ``python bench/exchange_bench.py`` for the issue's figures: 10 million entries in the
requester's replica, about 4-5 minutes on 2 cores and 6 GB of temporary disk (``--tmp``
says where). ``--reads 1000000`` takes about a minute and 0.6 GB, with the same query
cost give or take a lookup. ``--json`` prints one JSON object of the figures on stdout.

1. **Indexing at ingest**, one agreement, TIME_CAMERA_PLACE labels: the crypto alone
   (matching form, OPRF evaluate, match key, occurrence count, sealed label) on the native
   and the portable backend, and the real ``Indexer.run_once`` over reads sealed in a
   node's SQLite store (opening them, occurrence counters, inserts, progress, epoch keys).
   The peer is the PyPI package ``openmined-psi`` preparing a server set of the same size
   (``CreateSetupMessage``, RAW and GCS): ``pip install --no-deps openmined-psi``. It pins
   protobuf 6, and a plain install downgrades the protobuf 7 Accord's stubs need (it runs
   on protobuf 7). A benchmark peer only, never a dependency: without it the row is skipped.
2. **A hotlist query** of ``--hotlist`` plates over ``--days`` daily epochs against
   ``--reads`` entries in the requester's replica, end to end between two real nodes on
   loopback with mutual TLS (``QueryDesk.query_hits``), split into its steps, with the
   responder's CPU time for the query. The output says which entries are synthetic and why.
3. **Index bytes per read**: an ``accord.v1.IndexEntry`` on the wire at each label detail,
   and a row at rest (SQLite pages of the responder's ``index_entries``, and the growth of
   the requester's replica file while the synthetic entries load).

Measured, never asserted: tests do not depend on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import inspect
import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from accord.v1 import exchange_pb2
from crypto import oprf
from crypto.index import LABEL_OVERHEAD, IndexScope, entry_for_output
from crypto.ristretto import NativeRistretto255, PortableRistretto255, Ristretto255
from node.alpr.reads import Candidate
from node.app import NodeApp
from node.exchange import answering, asking, indexer
from node.exchange.labels import SIZES, ReadFacts, label_detail
from node.ids import CameraId, Epoch, NodeId
from node.ingest.observed import ObservedRead
from node.plates import matching_form, oprf_input
from node.policy.agreement import LabelDetail
from node.sealed_reads import SealedReads, day_epoch, epoch_bounds
from node.store.cameras import Camera, CameraRepository
from node.store.db import session_scope
from node.store.peers import PeerRepository
from tests.support.federation import NodeSpec, agree, federation

SPECS = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
RESPONDER = NodeId("culver-city-pd")
CAMERA = CameraId("cam-pier-01")
DETAIL = LabelDetail.TIME_CAMERA_PLACE
LETTERS = "ACDEFGHJKLMNPRTUVWXY"  # no O I B S Z: confusable folding leaves these plates alone
#: Real reads of hotlist plates at the responder; new reads (of them hotlist) before each query.
HOT_READS, FRESH_READS, FRESH_HOT = 300, 50, 20
CHUNK = 200_000
INSERT_LABEL = "INSERT INTO peer_index_labels (id, sequence, label) VALUES (?, ?, ?)"
INSERT_KEY = (
    "INSERT INTO peer_index_keys (stream_id, epoch, entry_id, label_id) VALUES (?, ?, ?, ?)"
)
INDEXING_ROWS = {
    "crypto_native": "crypto only, native",
    "crypto_portable": "crypto only, portable",
    "indexer": "Indexer.run_once, SQLite",
    "ingest_seal_store": "(ingest: seal + store)",
    "openmined_psi_raw": "openmined-psi RAW",
    "openmined_psi_gcs": "openmined-psi GCS",
}
INDEXER_STEPS_SHOWN = {
    "open_sealed_reads": "of it: open sealed reads",
    "oprf_and_labels": "OPRF + labels",
    "counters_and_inserts": "counters, inserts",
    "epoch_keys_and_other": "epoch keys, rest",
}
STEPS = {
    "blinding": "A: blinding",
    "responder_crypto": "B: evaluation + DLEQ proofs",
    "responder_checks_ledger": "B: checks, policy, ledger",
    "verify_unblind": "A: verify proofs + unblind",
    "index_sync": "A: index sync (new entries)",
    "matching": "A: matching (ids, lookups)",
    "other": "A: sign, ledger, receipt, gRPC",
}
Read = tuple[str, dt.datetime]
Figures = dict[str, float]


def plates(rng: random.Random, n: int, *, hot: bool) -> list[str]:
    """``n`` distinct plates; hotlist plates start with a letter, the others with a digit."""
    shape = "LLLDDDD" if hot else "DLLLDDD"
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(LETTERS if c == "L" else "0123456789") for c in shape))
    return sorted(out)


def reads(rng: random.Random, pool: list[str], n: int, days: int, now: dt.datetime) -> list[Read]:
    """``n`` reads of plates from ``pool``, in time order over the ``days`` epochs to today."""
    start = epoch_bounds(Epoch(day_epoch(now) - days + 1))[0] + dt.timedelta(minutes=1)
    span = max(1.0, (now - start).total_seconds() - 120)
    times = sorted(start + dt.timedelta(seconds=rng.uniform(0, span)) for _ in range(n))
    return list(zip(rng.choices(pool, k=n), times, strict=True))


@contextlib.contextmanager
def measure(n: int) -> Iterator[Figures]:
    """Figures of the ``n`` items done in the block: wall time, per wall and CPU second."""
    out: Figures = {"items": n}
    c, t = time.process_time(), time.perf_counter()
    yield out
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    out.update(wall_s=wall, per_s=n / wall, per_cpu_s=n / max(cpu, 1e-9))


# -- 1. indexing -------------------------------------------------------------------------


def crypto_only(sample: Sequence[Read], g: Ristretto255) -> Figures:
    """What the indexer computes per read, without the store."""
    key = oprf.derive_key_pair(bytes(range(32)), b"bench", backend=g)
    scope = IndexScope("smpd-ccpd-2026", day_epoch(sample[0][1])).encode()
    facts = [
        (text, ReadFacts(time=t, city="culver-city-pd (US-CA)", camera="Pier entrance",
                         lat=34.0094, lon=-118.4973, image=f"accord:culver-city-pd/reads/{i}"))
        for i, (text, t) in enumerate(sample)
    ]  # fmt: skip

    seen: dict[str, int] = {}
    with measure(len(facts)) as figures:  # as Indexer._index: one OPRF batch, then entries
        forms = [matching_form(text, fold=True) for text, _ in facts]
        outputs = oprf.evaluate_batch(key.secret_key, [oprf_input(p) for p in forms], backend=g)
        for plate, (_, f), y in zip(forms, facts, outputs, strict=True):
            j = seen[plate] = seen.get(plate, -1) + 1
            entry_for_output(y, scope, j, label_detail(f, DETAIL))
    return figures


def openmined_psi(n: int, clients: int, notes: list[str]) -> dict[str, Callable[[], Figures]]:
    """The peer's measurements, one per data structure (none if it is not installed)."""
    try:
        import private_set_intersection.python as psi  # type: ignore[import-untyped]
    except ImportError:
        notes.append("openmined-psi is not installed (pip install --no-deps openmined-psi)")
        return {}
    items = [f"{i:07d}" for i in range(n)]  # n distinct plates: a set, as PSI takes it

    def setup(structure: str) -> Figures:
        server = psi.server.CreateWithNewKey(True)  # reveal_intersection
        ds = getattr(psi.DataStructure, structure)
        with measure(n) as figures:
            server.CreateSetupMessage(1e-9, clients, items, ds)
        return figures

    return {f"openmined_psi_{k.lower()}": functools.partial(setup, k) for k in ("RAW", "GCS")}


def best_of(rounds: int, runs: dict[str, Callable[[], Figures]]) -> dict[str, Figures]:
    """The best of ``rounds`` of each measurement, interleaved so that a busy spell of the
    shared machine falls on all of them alike."""
    best: dict[str, Figures] = {}
    for _ in range(rounds):
        for name, fn in runs.items():
            r = fn()
            if name not in best or r["per_cpu_s"] > best[name]["per_cpu_s"]:
                best[name] = r
    return best


def store_reads(app: NodeApp, batch: Sequence[Read], tag: str, now: dt.datetime) -> None:
    """Seal and store reads through the node's real ingest path (``SealedReads.store``)."""
    with session_scope(app.sessions) as s:
        if CameraRepository(s).get(CAMERA) is None:
            CameraRepository(s).add(Camera(CAMERA, "Pier entrance", 34.0094, -118.4973, 270, now))
    for start in range(0, len(batch), 10_000):
        observed = [
            ObservedRead(camera_id=CAMERA, time=t, candidates=(Candidate(p, p, 0.95),),
                         source="bench", external_id=f"{tag}-{start + i}")
            for i, (p, t) in enumerate(batch[start : start + 10_000])
        ]  # fmt: skip
        with session_scope(app.sessions) as s:
            SealedReads(s, app.keys.lookup).store(observed, now=now)


@contextlib.contextmanager
def sqlite(app: NodeApp) -> Iterator[tuple[sqlite3.Connection, str]]:
    """A connection of the bench's own to a node's SQLite file (never one of the node's)."""
    path = app.engine.url.database
    assert path, "the bench runs SQLite nodes"
    con = sqlite3.connect(path, isolation_level=None, timeout=60)
    try:
        yield con, path
    finally:
        con.close()


def table_bytes(app: NodeApp, tables: Sequence[str], *, per: str) -> dict[str, Any]:
    """Bytes of the pages that ``tables`` and each of their indexes occupy (``dbstat``),
    per row of table ``per``."""
    with sqlite(app) as (con, _):
        q = "SELECT name FROM sqlite_master WHERE tbl_name = ?"
        names = [r[0] for t in tables for r in con.execute(q, (t,))]
        q = "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?"
        pages = {n: con.execute(q, (n,)).fetchone()[0] for n in names}
        (rows,) = con.execute(f"SELECT count(*) FROM {per}").fetchone()
    per_row = {n: p / max(rows, 1) for n, p in pages.items()}
    return {"rows": rows, "bytes_per_row": sum(per_row.values()), "btrees": per_row}


# -- 2. the query ------------------------------------------------------------------------


def file_size(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def load_synthetic(
    app: NodeApp, agreement_id: str, n: int, epochs: list[int], progress: Progress
) -> dict[str, float]:
    """``n`` random entries in the requester's replica, in big transactions, as
    :meth:`PeerIndexRepository.add` stores them (a label row and a key row each).

    Their sequences are negative, so they are told apart from the real stream's; the
    replica's cursor, kept with the stream, stays where the real stream is, and later
    real entries still arrive through the sync.
    """
    task = progress.add_task("synthetic replica entries", total=n)
    with sqlite(app) as (con, path):
        con.execute("PRAGMA synchronous = OFF")  # this loading connection only
        con.execute("PRAGMA cache_size = -1000000")
        (stream,) = con.execute(
            "SELECT id FROM peer_index_streams WHERE peer_id = ? AND agreement_id = ?",
            (RESPONDER, agreement_id),
        ).fetchone()
        (first,) = con.execute("SELECT coalesce(max(id), 0) + 1 FROM peer_index_labels").fetchone()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before, t = file_size(path), time.perf_counter()
        label = os.urandom(SIZES[DETAIL] + LABEL_OVERHEAD)
        for start in range(0, n, CHUNK):
            k = min(CHUNK, n - start)
            ids = os.urandom(16 * k)
            label_ids = range(first + start, first + start + k)
            con.execute("BEGIN")
            con.executemany(
                INSERT_LABEL,
                zip(label_ids, range(-start - 1, -start - k - 1, -1), itertools.repeat(label)),
            )
            con.executemany(
                INSERT_KEY,
                zip(
                    itertools.repeat(stream),
                    itertools.islice(itertools.cycle(epochs), k),
                    (ids[i : i + 16] for i in range(0, 16 * k, 16)),
                    label_ids,
                ),
            )
            con.executemany(
                "INSERT OR IGNORE INTO peer_index_epochs (stream_id, epoch) VALUES (?, ?)",
                ((stream, e) for e in epochs),
            )
            con.execute("COMMIT")
            progress.advance(task, k)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wall, growth = time.perf_counter() - t, file_size(path) - before
    progress.remove_task(task)
    return {"rows": n, "load_s": wall, "rows_per_s": n / wall, "bytes_per_row": growth / max(n, 1)}


class Split:
    """Wall (and CPU) seconds spent in some functions of the nodes, summed over calls.

    ``wraps`` names them as ``(owner, attribute, step)``; the nodes look them up at call
    time, so patching the module or class attribute is enough.
    """

    def __init__(
        self, wraps: Sequence[tuple[object, str, str]], *, cpu_steps: frozenset[str] = frozenset()
    ) -> None:
        self.wraps = wraps
        #: Synchronous steps whose process CPU time is kept too (async ones always).
        self.cpu_steps = cpu_steps
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    def _timed(self, step: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[step] += time.perf_counter() - t

        def timed_cpu(*args: Any, **kwargs: Any) -> Any:  # one call a query: worth a syscall
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[step] += time.perf_counter() - t
                self.cpu[step] += time.process_time() - c

        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.wall[step] += time.perf_counter() - t
                self.cpu[step] += time.process_time() - c

        if inspect.iscoroutinefunction(fn):
            return timed_async
        return timed_cpu if step in self.cpu_steps else timed

    @contextlib.contextmanager
    def instrumented(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for owner, attr, step in self.wraps:
                timed = self._timed(step, getattr(owner, attr))
                stack.enter_context(mock.patch.object(owner, attr, timed))
            yield

    def clear(self) -> None:
        self.wall.clear()
        self.cpu.clear()


QUERY_STEPS = [
    (asking, "blind_all", "blinding"),
    (answering.Answerer, "_evaluate", "b_crypto"),
    (answering.Answerer, "evaluate_hits", "b_total"),
    (asking.QueryDesk, "_unblind", "verify"),
    (asking.QueryDesk, "sync_index", "sync"),
    (asking.QueryDesk, "_match", "matching"),
]
INDEXER_STEPS = [
    (indexer.Indexer, "_pending", "open"),
    (indexer.Indexer, "_index", "index"),
    (indexer, "evaluate_batch", "crypto"),
    (indexer, "label_detail", "crypto"),
    (indexer, "entry_for_output", "crypto"),
]


def query_steps(w: dict[str, float], total: float) -> dict[str, float]:
    out = {
        "blinding": w["blinding"],
        "responder_crypto": w["b_crypto"],
        "responder_checks_ledger": w["b_total"] - w["b_crypto"],
        "verify_unblind": w["verify"],
        "index_sync": w["sync"],
        "matching": w["matching"],
    }
    return out | {"other": total - sum(out.values())}


async def query_runs(
    args: argparse.Namespace, a: NodeApp, b: NodeApp, hot: list[str], hot_reads: list[Read]
) -> list[dict[str, Any]]:
    rng, runs, split = random.Random(7), [], Split(QUERY_STEPS, cpu_steps=frozenset({"verify"}))
    with split.instrumented():
        for rep in range(args.repeats):
            # New reads arrive between queries, so each query's index sync has some to fetch.
            at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
            pool = rng.choices(hot[:150], k=FRESH_HOT)  # then plates not on the hotlist
            pool += [f"9{i:06d}" for i in range(FRESH_READS - FRESH_HOT)]
            fresh = [(p, at + dt.timedelta(milliseconds=i)) for i, p in enumerate(pool)]
            store_reads(b, fresh, f"fresh{rep}", at)
            await b.indexer.run_once()
            hot_reads += fresh[:FRESH_HOT]
            split.clear()
            t = time.perf_counter()
            outcome = await a.queries.query_hits(
                peers=[RESPONDER], plates=hot, purpose="stolen-vehicle",
                case_number="24-00123", days=args.days, user="bench",
            )  # fmt: skip
            total = time.perf_counter() - t
            (answer,) = outcome.answers
            today = day_epoch(dt.datetime.now(dt.UTC))
            expected = sum(1 for _, t in hot_reads if today - args.days < day_epoch(t) <= today)
            if answer.outcome != "answered" or len(outcome.hits) != expected:
                raise SystemExit(f"query {rep + 1}: {answer}, {len(outcome.hits)} hits, "
                                 f"{expected} expected")  # fmt: skip
            cpu = split.cpu["b_total"]
            runs.append({"total_s": total, "responder_cpu_s": cpu, "hits": len(outcome.hits),
                         "requester_verify_cpu_s": split.cpu["verify"],
                         "steps": query_steps(split.wall, total)})  # fmt: skip
    return runs


# -- 3. bytes ----------------------------------------------------------------------------


def wire_bytes(sequence: int, epoch: int) -> dict[str, dict[str, float]]:
    out = {}
    for detail, size in SIZES.items():
        label = os.urandom(size + LABEL_OVERHEAD)
        entry = exchange_pb2.IndexEntry(
            sequence=sequence, epoch=epoch, entry_id=os.urandom(16), label=label
        )
        page = exchange_pb2.FetchIndexResponse(entries=[entry] * 1000, next_cursor=sequence)
        out[detail.value] = {
            "label": size,
            "entry": entry.ByteSize(),
            "in_page": page.ByteSize() / 1000,
        }
    return out


async def index_at_responder(b: NodeApp, real: list[Read], now: dt.datetime) -> dict[str, Any]:
    """Reads sealed into B's store (ingest), then indexed by B's own ``Indexer``."""
    with measure(len(real)) as ingest:
        store_reads(b, real, "s", now)
    split = Split(INDEXER_STEPS)
    with split.instrumented(), measure(len(real)) as indexed:
        await b.indexer.run_once()
    w = split.wall
    steps = {
        "open_sealed_reads": w["open"],
        "oprf_and_labels": w["crypto"],
        "counters_and_inserts": w["index"] - w["crypto"],
        "epoch_keys_and_other": indexed["wall_s"] - w["open"] - w["index"],
    }
    return {"ingest_seal_store": ingest, "indexer": indexed, "indexer_steps": steps}


# -- the run -----------------------------------------------------------------------------


async def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    rng, now, notes = random.Random(20260101), dt.datetime.now(dt.UTC), list[str]()
    hot = plates(rng, args.hotlist, hot=True)
    universe = plates(rng, max(1, args.index_sample // 3), hot=False)  # seen ~3 times a week
    sample = reads(rng, universe, args.index_sample, args.days, now)
    hot_reads = reads(rng, hot[:150], HOT_READS, args.days, now)
    with console.status("indexing: crypto only and openmined-psi, interleaved …"):
        ours: dict[str, Callable[[], Figures]] = {
            "crypto_native": functools.partial(crypto_only, sample, NativeRistretto255())
        }
        ix: dict[str, Any] = best_of(
            args.rounds, ours | openmined_psi(len(sample), args.hotlist, notes)
        )
        ix["crypto_portable"] = crypto_only(sample[: args.portable_sample], PortableRistretto255())
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="accord-exchange-bench-") as tmp:
        async with federation(Path(tmp), SPECS) as (a, b):
            for task in asyncio.all_tasks():  # the bench runs the indexer; no polls in its CPU
                if task.get_name() in ("indexer", "alerts"):
                    task.cancel()
            rate = (args.repeats + 2) * args.hotlist
            agreement_id = await agree(a, b, max_batch=args.hotlist, plates_per_day=rate)
            real = sorted(sample + hot_reads, key=lambda r: r[1])
            with console.status(f"sealing, then indexing {len(real):,} reads at the responder …"):
                ix |= await index_at_responder(b, real, now)
            rest = {
                "responder_index_entries": table_bytes(
                    b, ("index_entries", "index_epochs"), per="index_entries"
                ),
                "responder_counters": table_bytes(
                    b, ("index_occurrences",), per="index_occurrences"
                ),
            }
            assert rest["responder_index_entries"]["rows"] == len(real), "reads left unindexed"
            rest["responder_counters"]["per_read"] = (
                rest["responder_counters"]["bytes_per_row"]
                * rest["responder_counters"]["rows"]
                / len(real)
            )
            with session_scope(a.sessions) as s:
                peer = PeerRepository(s).get(RESPONDER)
            assert peer is not None
            await a.queries.sync_index(peer, agreement_id)  # the replica as it stood before
            synthetic, today = max(0, args.reads - len(real)), day_epoch(dt.datetime.now(dt.UTC))
            with Progress(console=console, transient=True) as progress:
                epochs = list(range(today - args.days + 1, today + 1))
                rest["requester_replica"] = load_synthetic(
                    a, agreement_id, synthetic, epochs, progress
                )
            with console.status(f"{args.repeats} queries of {args.hotlist:,} plates …"):
                runs = await query_runs(args, a, b, hot, hot_reads)
    fastest = min(runs, key=lambda r: r["total_s"])
    query: dict[str, Any] = {
        "plates": args.hotlist, "epochs": args.days, "target_s": 1.5,
        "entries": len(real) + synthetic + args.repeats * FRESH_READS,
        "real_entries": len(real) + args.repeats * FRESH_READS, "synthetic_entries": synthetic,
        "median_s": statistics.median(r["total_s"] for r in runs), "fastest": fastest,
        "responder_cpu_median_s": statistics.median(r["responder_cpu_s"] for r in runs),
        "runs": runs,
    }  # fmt: skip
    wire = wire_bytes(query["entries"], today)
    return {"config": vars(args), "indexing": ix, "query": query,
            "bytes": {"wire": wire, "at_rest": rest}, "notes": notes}  # fmt: skip


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    t = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*row)
    return t


def print_tables(f: dict[str, Any], console: Console) -> None:
    ix, q, size = f["indexing"], f["query"], SIZES[DETAIL]
    psi = {k: v for k, v in ix.items() if k.startswith("openmined_psi")}
    best = max((v["per_cpu_s"] for v in psi.values()), default=0)
    cells: list[tuple[str, ...]] = []
    for key, name in INDEXING_ROWS.items():
        if key in ix:
            r, ours = ix[key], not key.startswith(("openmined", "ingest"))
            vs = f"{r['per_cpu_s'] / best:.2f}x" if best and ours else ""
            cells.append((name, f"{r['items']:,}", f"{r['wall_s']:.2f}", f"{r['per_s']:,.0f}",
                          f"{r['per_cpu_s']:,.0f}", vs))  # fmt: skip
        if key == "indexer":
            cells += [(f"  {INDEXER_STEPS_SHOWN[k]}", "", f"{v:.2f}", "", "", "")
                      for k, v in ix["indexer_steps"].items()]  # fmt: skip
    cols = ("what", "reads", "wall s", "/wall-s", "/CPU-s", "vs psi")
    title = (
        f"1. Indexing at ingest, one agreement, {DETAIL.value} (best of {f['config']['rounds']})"
    )
    console.print(table(title, cols, cells))
    fast = q["fastest"]
    steps = [(STEPS[k], f"{v:.3f}", f"{v / fast['total_s']:.0%}") for k, v in fast["steps"].items()]
    steps += [
        ("[b]end to end: query_hits[/b]", f"[b]{fast['total_s']:.3f}[/b]", f"goal {q['target_s']}"),
        ("  all runs", f"{q['median_s']:.3f}", " ".join(f"{r['total_s']:.2f}" for r in q["runs"])),
        ("B's CPU for the query", f"{fast['responder_cpu_s']:.3f}",
         f"med {q['responder_cpu_median_s']:.3f}"),
        ("A's CPU to verify + unblind", f"{fast['requester_verify_cpu_s']:.3f}",
         f"med {statistics.median(r['requester_verify_cpu_s'] for r in q['runs']):.3f}"),
        ("hits (all expected)", f"{fast['hits']}", ""),
    ]  # fmt: skip
    title = (f"2. {q['plates']:,} plates x {q['epochs']} daily epochs vs {q['entries']:,} "
             f"entries, fastest of {len(q['runs'])} (median under it)")  # fmt: skip
    console.print(table(title, ("step", "seconds", "share"), steps))
    b, a, c = (
        f["bytes"]["at_rest"]["responder_index_entries"],
        f["bytes"]["at_rest"]["requester_replica"],
        f["bytes"]["at_rest"]["responder_counters"],
    )
    sizes: list[tuple[str, ...]] = []
    for detail, w in f["bytes"]["wire"].items():
        extra, mark = w["label"] - size, "" if detail == DETAIL.value else "~"
        rest_a = f"{mark}{a['bytes_per_row'] + extra:.0f}" if a["rows"] else "-"
        sizes.append((detail, f"{w['label']}", f"{w['entry']}", f"{w['in_page']:.0f}",
                      f"{w['in_page'] - w['label']:.0f}", f"{mark}{b['bytes_per_row'] + extra:.0f}",
                      rest_a))  # fmt: skip
    header = ("label detail", "label", "entry", "in page", "page-label", "B rest", "A rest")
    console.print(table("3. Index bytes per read", header, sizes))
    load = a["rows_per_s"] if a["rows"] else 0
    for line in (
        "Indexing: reads per wall and per CPU second on one core (the loops are single-threaded);"
        " vs psi = ours per CPU second over openmined-psi's best, ours and theirs interleaved"
        " round by round and the best round of each kept. The indexer's steps are wall times.",
        "Bytes: label = padded plaintext; entry = one serialized accord.v1.IndexEntry; in page ="
        " per entry of a FetchIndexResponse of 1,000; B rest = SQLite pages of index_entries, its"
        f" index and the epoch spans per entry (dbstat, {b['rows']:,} rows); A rest = growth of"
        f" the replica file (key and label rows) while the synthetic entries loaded"
        f" ({a['bytes_per_row'] * 1e5 / 1e6:.1f} MB per 100k). Measured at {DETAIL.value};"
        " ~ = that row plus the label size difference. Aim: 64 bytes plus the label."
        " B rest by b-tree: " + ", ".join(f"{k} {v:.0f}" for k, v in b["btrees"].items()) + ".",
        f"B's occurrence counters (one per plate and day, not per read): {c['rows']:,} rows of"
        f" {c['bytes_per_row']:.0f} bytes, {c['per_read']:.0f} bytes a read here.",
        f"Replica: {q['real_entries']:,} real entries (reads sealed, indexed and synced through the"
        f" real path; {HOT_READS + len(q['runs']) * FRESH_HOT} of hotlist plates) and"
        f" {q['synthetic_entries']:,} synthetic ones (random 16-byte ids and"
        f" {size + LABEL_OVERHEAD}-byte labels loaded at {load:,.0f} rows/s), so that a large"
        " replica can be made without indexing 10M reads first. They leave the cost measured as"
        " it is: A looks entries up by (stream, epoch, entry id) in peer_index_keys, whose depth"
        " depends on how many rows it holds, not on how they were made.",
        "B's CPU: process CPU time while B's Answerer.evaluate_hits ran (checks, policy, ledger,"
        " evaluation and proofs, receipt). Both nodes share one process, but A only awaits the"
        " reply then and the nodes' polling loops are stopped; gRPC and TLS outside the handler"
        " are not counted. A's CPU: process CPU time while A's QueryDesk._unblind ran (proof"
        " verification and unblinding on all of its threads; B is idle then). Step times are"
        " wall times of the functions each step runs in.",
        *(f"[yellow]{note}[/yellow]" for note in f["notes"]),
    ):
        console.print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=10_000_000, help="entries in A's replica")
    ap.add_argument("--index-sample", type=int, default=20_000, help="reads to index")
    ap.add_argument("--portable-sample", type=int, help="reads for the portable backend")
    ap.add_argument("--hotlist", type=int, default=1000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=3, help="queries (the fastest is shown)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of ours vs openmined-psi")
    ap.add_argument("--tmp", help="folder for the two node homes (default: the system's)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    args.portable_sample = args.portable_sample or max(100, args.index_sample // 10)
    console = Console(stderr=args.json)
    figures = asyncio.run(run(args, console))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_tables(figures, console)


if __name__ == "__main__":
    main()
