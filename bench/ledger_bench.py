"""Ledger benchmark: durable appends, proofs, and `accord audit verify` throughput.

Compares, in the same run, with the PyPI package ``pymerkle`` doing the same work
(``pip install pymerkle``; skipped with a note if absent). Prints a table; ``--json``
prints one JSON object of the figures instead.

    python bench/ledger_bench.py --entries 1000000 [--postgres URL] [--json]

Measured, never asserted: tests do not depend on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crypto.entries import Entry
from crypto.note import NoteSigner, WitnessSigner
from node.ids import LogId
from node.ledger.log import LedgerLog
from node.ledger.publisher import Publisher
from node.store.db import create_engine, session_factory
from node.store.migrate import upgrade

ORIGIN = "accord/bench/ledger"
H = "ab" * 32


def entries(n: int) -> list[bytes]:
    """Realistic query.received entries (~450 bytes each)."""
    out = []
    for i in range(n):
        out.append(
            Entry(
                "query.received",
                1_800_000_000_000 + i,
                "bench",
                {
                    "request_id": f"req-{i:09d}",
                    "peer": "culver-city-pd",
                    "agreement_id": "agr-2026-001",
                    "agreement_hash": H,
                    "purpose": "pc-187",
                    "case_commit": H,
                    "actor": H,
                    "window_days": 7,
                    "batch_size": 100,
                    "q_commit": f"{i:064x}",
                    "decision": "allowed",
                    "rule_ids": ["baseline-honour-query"],
                },
            ).encode()
        )
    return out


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(p * len(s)))]


async def bench_ours(
    url: str, data: list[bytes], proofs: int, audit_dir: Path | None = None
) -> dict[str, Any]:
    upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    log = LedgerLog(sessions, LogId(ORIGIN), batch_size=1000, max_delay_s=0.005)
    await log.open()
    start = time.perf_counter()
    chunk = 20_000
    for i in range(0, len(data), chunk):
        await asyncio.gather(*(log.append(e) for e in data[i : i + chunk]))
    append_s = time.perf_counter() - start
    n = log.head.size
    rng = random.Random(1)
    incl, cons = [], []
    for _ in range(proofs):
        t = time.perf_counter()
        log.inclusion_proof(rng.randrange(n), n)
        incl.append((time.perf_counter() - t) * 1000)
        old = rng.randrange(1, n)
        t = time.perf_counter()
        log.consistency_proof(old, n)
        cons.append((time.perf_counter() - t) * 1000)
    result = {
        "appends_per_s": len(data) / append_s,
        "inclusion_p50_ms": pct(incl, 0.5),
        "inclusion_p99_ms": pct(incl, 0.99),
        "consistency_p50_ms": pct(cons, 0.5),
        "consistency_p99_ms": pct(cons, 0.99),
    }
    if audit_dir is not None:
        result["audit"] = bench_audit(log, sessions, audit_dir)
    await log.close()
    engine.dispose()
    return result


def bench_audit(log: LedgerLog, sessions: Any, out: Path) -> dict[str, float]:
    from nacl.signing import SigningKey

    from audit.policy import parse_policy
    from audit.source import DirectorySource
    from audit.verify import verify_log
    from node.ledger.export import export_tiles

    signer = NoteSigner(ORIGIN, SigningKey(b"\x01" * 32))
    publisher = Publisher(log, sessions, signer)
    publisher.sign()
    t = time.perf_counter()
    size = export_tiles(log, publisher, sessions, out)
    export_s = time.perf_counter() - t
    witness = WitnessSigner("w", SigningKey(b"\x02" * 32)).verifier.vkey()
    policy = parse_policy(
        f'log = "{signer.verifier.vkey()}"\nwitnesses = ["{witness}"]\nquorum = 0\nunsafe_no_witnesses = true\n'
    )
    t = time.perf_counter()
    report = verify_log(DirectorySource(out), policy)
    verify_s = time.perf_counter() - t
    assert report.size == size
    return {"export_entries_per_s": size / export_s, "verify_entries_per_s": size / verify_s}


def bench_pymerkle(
    data: list[bytes], one_at_a_time: int, proofs: int, tmp: Path
) -> dict[str, float] | None:
    try:
        from pymerkle import SqliteTree
    except ImportError:
        return None
    single = SqliteTree(str(tmp / "pm-single.db"))
    t = time.perf_counter()
    for e in data[:one_at_a_time]:
        single.append_entry(e)
    single_rate = one_at_a_time / (time.perf_counter() - t)
    single.close()
    bulk = SqliteTree(str(tmp / "pm-bulk.db"))
    t = time.perf_counter()
    bulk.append_entries(data)
    bulk_rate = len(data) / (time.perf_counter() - t)
    n = bulk.get_size()
    rng = random.Random(2)
    samples = []
    for _ in range(proofs):
        t = time.perf_counter()
        bulk.prove_inclusion(rng.randrange(1, n + 1), n)
        samples.append((time.perf_counter() - t) * 1000)
    bulk.close()
    return {
        "durable_appends_per_s": single_rate,
        "bulk_appends_per_s": bulk_rate,
        "inclusion_p50_ms": statistics.median(samples),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--postgres", default=os.environ.get("ACCORD_TEST_POSTGRES_URL"))
    ap.add_argument("--proofs", type=int, default=1000)
    ap.add_argument("--pymerkle-single", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    data = entries(args.entries)
    figures: dict[str, Any] = {"entries": args.entries}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        ours = asyncio.run(
            bench_ours(f"sqlite:///{tmp / 'ledger.db'}", data, args.proofs, tmp / "tiles")
        )
        figures["audit"] = ours.pop("audit")
        figures["sqlite"] = ours
        if args.postgres:
            figures["postgres"] = bench_postgres(args.postgres, data, args.proofs)
        pm = bench_pymerkle(data, args.pymerkle_single, min(args.proofs, 200), tmp)
    if pm is not None:
        figures["pymerkle"] = pm
        figures["ratios"] = {
            "sqlite_vs_pymerkle_durable": figures["sqlite"]["appends_per_s"]
            / pm["durable_appends_per_s"],
            "sqlite_vs_pymerkle_bulk": figures["sqlite"]["appends_per_s"]
            / pm["bulk_appends_per_s"],
            "inclusion_p50_vs_pymerkle": pm["inclusion_p50_ms"]
            / figures["sqlite"]["inclusion_p50_ms"],
        }
        if "postgres" in figures:
            figures["ratios"]["postgres_vs_pymerkle_durable"] = (
                figures["postgres"]["appends_per_s"] / pm["durable_appends_per_s"]
            )
            figures["ratios"]["postgres_vs_pymerkle_bulk"] = (
                figures["postgres"]["appends_per_s"] / pm["bulk_appends_per_s"]
            )
    if args.json:
        print(json.dumps(figures, indent=None, sort_keys=True))
        return
    print_table(figures)


def bench_postgres(url: str, data: list[bytes], proofs: int) -> dict[str, Any]:
    """Runs in a throw-away database so it never touches anything else."""
    import psycopg

    from node.store.db import parse_url

    parsed = parse_url(url)
    name = f"accord_bench_{os.getpid()}"
    admin = parsed.set(drivername="postgresql", database=parsed.database or "postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        target = parsed.set(database=name).render_as_string(hide_password=False)
        return asyncio.run(bench_ours(target, data, proofs))
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def print_table(f: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"Ledger benchmark, {f['entries']:,} entries")
    t.add_column("figure")
    t.add_column("Accord SQLite", justify="right")
    t.add_column("Accord PostgreSQL", justify="right")
    t.add_column("pymerkle", justify="right")
    pg = f.get("postgres", {})
    pm = f.get("pymerkle", {})

    def cell(d: dict[str, float], k: str, fmt: str) -> str:
        return format(d[k], fmt) if k in d else "-"

    t.add_row(
        "durable appends/s (group commit)",
        cell(f["sqlite"], "appends_per_s", ",.0f"),
        cell(pg, "appends_per_s", ",.0f"),
        cell(pm, "durable_appends_per_s", ",.0f") + " (one at a time)",
    )
    t.add_row("pymerkle bulk appends/s", "", "", cell(pm, "bulk_appends_per_s", ",.0f"))
    t.add_row(
        "inclusion proof p50 / p99 ms",
        f"{f['sqlite']['inclusion_p50_ms']:.3f} / {f['sqlite']['inclusion_p99_ms']:.3f}",
        f"{pg['inclusion_p50_ms']:.3f} / {pg['inclusion_p99_ms']:.3f}" if pg else "-",
        cell(pm, "inclusion_p50_ms", ".3f") + " (p50)",
    )
    t.add_row(
        "consistency proof p50 / p99 ms",
        f"{f['sqlite']['consistency_p50_ms']:.3f} / {f['sqlite']['consistency_p99_ms']:.3f}",
        f"{pg['consistency_p50_ms']:.3f} / {pg['consistency_p99_ms']:.3f}" if pg else "-",
        "-",
    )
    t.add_row("tiles export entries/s", cell(f["audit"], "export_entries_per_s", ",.0f"), "", "")
    t.add_row("audit verify entries/s", cell(f["audit"], "verify_entries_per_s", ",.0f"), "", "")
    Console().print(t)
    for k, v in f.get("ratios", {}).items():
        print(f"ratio {k}: {v:.1f}x")


if __name__ == "__main__":
    main()
