"""OPRF benchmark: per-operation speed of RFC 9497 ristretto255-SHA512 on both backends.

Measures what a node pays: hashing a plate to the group, one scalar multiplication, the
server's own ``evaluate`` of one plate (HashToGroup + scalar mult + the finalize hash,
i.e. building its index), a client ``blind``, a VOPRF ``blind_evaluate_batch`` (with its
DLEQ proof) and a client ``finalize_batch`` (proof verified) of ``--batch`` plates.
Prints a table; ``--json`` prints one JSON object of the figures instead.

    python bench/oprf_bench.py [--batch 1000] [--iterations 200] [--backend native] [--json]

Measured, never asserted: tests do not depend on timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table

from crypto import oprf
from crypto.errors import BackendUnavailableError
from crypto.ristretto import NativeRistretto255, PortableRistretto255, Ristretto255

SEED = bytes(range(32))


def per_op_us(fn: Callable[[int], object], n: int) -> float:
    """Mean microseconds per call of ``fn(i)`` over ``n`` calls (after one warm-up)."""
    fn(0)
    t = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t) / n * 1e6


def plate(i: int) -> bytes:
    return f"{i % 10}ABC{i:03d}".encode()


def bench_backend(g: Ristretto255, batch: int, iterations: int) -> dict[str, Any]:
    key = oprf.derive_key_pair(SEED, b"bench", backend=g)
    element = oprf.hash_to_group(b"7ABC123", backend=g)
    scalar = g.random_scalar()
    figures: dict[str, Any] = {
        "hash_to_group_us": per_op_us(
            lambda i: oprf.hash_to_group(plate(i), backend=g), iterations
        ),
        "scalar_mult_us": per_op_us(lambda i: g.scalar_mult(scalar, element), iterations),
        "evaluate_one_plate_us": per_op_us(
            lambda i: oprf.evaluate(key.secret_key, plate(i), backend=g), iterations
        ),
        "blind_us": per_op_us(lambda i: oprf.blind(plate(i), backend=g), iterations),
    }
    inputs = [plate(i) for i in range(batch)]
    states = [oprf.blind(x, backend=g) for x in inputs]
    blinded = [s.blinded_element for s in states]
    t = time.perf_counter()
    reply = oprf.blind_evaluate_batch(key.secret_key, blinded, backend=g)
    evaluate_s = time.perf_counter() - t
    t = time.perf_counter()
    outputs = oprf.finalize_batch(
        inputs,
        [s.blind for s in states],
        reply.evaluated_elements,
        blinded,
        reply.proof,
        key.public_key,
        backend=g,
    )
    finalize_s = time.perf_counter() - t
    assert outputs[0] == oprf.evaluate(key.secret_key, inputs[0], backend=g)
    figures.update(
        {
            "blind_evaluate_batch_ms": evaluate_s * 1e3,
            "blind_evaluate_batch_us_per_element": evaluate_s / batch * 1e6,
            "finalize_batch_ms": finalize_s * 1e3,
            "finalize_batch_us_per_element": finalize_s / batch * 1e6,
        }
    )
    figures["evaluate_plates_per_s"] = 1e6 / figures["evaluate_one_plate_us"]
    return {k: round(v, 2) for k, v in figures.items()}


def backends(choice: str) -> tuple[list[Ristretto255], list[str]]:
    chosen: list[Ristretto255] = []
    notes: list[str] = []
    if choice in ("both", "native"):
        try:
            chosen.append(NativeRistretto255())
        except BackendUnavailableError as e:
            notes.append(f"native backend skipped: {e}")
    if choice in ("both", "portable"):
        chosen.append(PortableRistretto255())
    return chosen, notes


ROWS = [
    ("hash_to_group_us", "HashToGroup, one plate", "µs"),
    ("scalar_mult_us", "scalar mult", "µs"),
    ("evaluate_one_plate_us", "server evaluate, one plate", "µs"),
    ("evaluate_plates_per_s", "  = plates indexed", "/s"),
    ("blind_us", "client blind, one plate", "µs"),
    ("blind_evaluate_batch_ms", "blind_evaluate_batch + proof", "ms"),
    ("blind_evaluate_batch_us_per_element", "  per element", "µs"),
    ("finalize_batch_ms", "finalize_batch + verify", "ms"),
    ("finalize_batch_us_per_element", "  per element", "µs"),
]


def print_table(figures: dict[str, Any], console: Console) -> None:
    names = list(figures["backends"])
    table = Table(title=f"RFC 9497 {oprf.SUITE}, batch of {figures['batch']}")
    table.add_column("operation", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)
    if len(names) == 2:
        table.add_column("slowdown", justify="right", no_wrap=True)
    for key, label, unit in ROWS:
        values = [figures["backends"][n][key] for n in names]
        cells = [f"{v:,.1f} {unit}" for v in values]
        if len(values) == 2:  # how many times slower the second backend is
            ratio = values[0] / values[1] if unit == "/s" else values[1] / values[0]
            cells.append(f"{ratio:.1f}x")
        table.add_row(label, *cells)
    console.print(table)
    for note in figures["notes"]:
        console.print(f"[yellow]{note}[/yellow]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--backend", choices=["both", "native", "portable"], default="both")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    console = Console(stderr=args.json)
    chosen, notes = backends(args.backend)
    if not chosen:
        console.print("[red]no backend available[/red]")
        raise SystemExit(1)
    figures: dict[str, Any] = {"suite": oprf.SUITE, "batch": args.batch, "notes": notes}
    figures["backends"] = {}
    for g in chosen:
        with console.status(f"measuring {g.name} …"):
            figures["backends"][g.name] = bench_backend(g, args.batch, args.iterations)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_table(figures, console)


if __name__ == "__main__":
    main()
