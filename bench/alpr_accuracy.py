"""Plate recognition accuracy on a folder of labelled photos.

    python bench/alpr_accuracy.py ../shared/data/alpr/us ../shared/data/alpr/us.csv [--json]

The CSV has the columns ``file,plate``. For each photo the reader's most confident plate
is the top-1 answer; a photo counts for "any" when the label is among the candidates of
any plate found. "lenient" compares after upper-casing and keeping only A-Z0-9 on both
sides; "strict" drops only spaces and dashes from the raw reading, so a stray symbol is
an error. The time is wall-clock per photo on one core, decoding included, after one warm-up read.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import cv2
import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from node.alpr import REGIONS, PlateReader, ReaderSettings
from node.alpr.candidates import normalise, strict_form


@dataclass(frozen=True, slots=True)
class Outcome:
    file: str
    plate: str
    top1: str
    top1_lenient: bool
    any_lenient: bool
    top1_strict: bool
    any_strict: bool
    seconds: float


def score(reader: PlateReader, image_path: Path, plate: str) -> Outcome:
    start = time.perf_counter()
    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if image is None:
        raise typer.BadParameter(f"cannot decode {image_path}")
    reads = reader.read(image)
    seconds = time.perf_counter() - start
    lenient, strict = normalise(plate), strict_form(plate)
    candidates = [c for r in reads for c in r.candidates]
    top = reads[0] if reads else None
    return Outcome(
        file=image_path.name,
        plate=plate,
        top1=top.raw if top else "",
        top1_lenient=top is not None and top.text == lenient,
        any_lenient=any(c.text == lenient for c in candidates),
        top1_strict=top is not None and strict_form(top.raw) == strict,
        any_strict=any(strict_form(c.raw) == strict for c in candidates),
        seconds=seconds,
    )


def main(
    images_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    ground_truth_csv: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    region: Annotated[str, typer.Option(help=f"Plate formats: {', '.join(REGIONS)}.")] = "auto",
    misses: Annotated[bool, typer.Option(help="List the photos read wrong.")] = False,
) -> None:
    if region not in REGIONS:
        raise typer.BadParameter(f"unknown region {region!r}; one of {', '.join(REGIONS)}")
    with ground_truth_csv.open(newline="") as f:
        rows = [(r["file"], r["plate"]) for r in csv.DictReader(f)]
    if not rows:
        raise typer.BadParameter(f"{ground_truth_csv} has no rows")
    # One core per reader, as in a worker process: OpenCV would otherwise spread filters
    # over every core and the time per photo would not be the time per core.
    cv2.setNumThreads(1)
    reader = PlateReader(ReaderSettings(region=REGIONS[region]))
    first = cv2.imread(str(images_dir / rows[0][0]), cv2.IMREAD_COLOR)
    if first is not None:
        reader.read(first)
    items = rows if as_json else track(rows, description="reading", transient=True)
    outcomes = [score(reader, images_dir / name, plate) for name, plate in items]
    n = len(outcomes)
    summary = {
        "n": n,
        "region": region,
        "provider": reader.provider,
        "top1_lenient": sum(o.top1_lenient for o in outcomes) / n,
        "any_lenient": sum(o.any_lenient for o in outcomes) / n,
        "top1_strict": sum(o.top1_strict for o in outcomes) / n,
        "any_strict": sum(o.any_strict for o in outcomes) / n,
        "seconds_per_image": sum(o.seconds for o in outcomes) / n,
    }
    if as_json:
        print(json.dumps(summary))
        return
    console = Console()
    if misses:
        wrong = Table("file", "plate", "top-1 (raw)", "among candidates")
        for o in outcomes:
            if not o.top1_lenient:
                wrong.add_row(o.file, o.plate, o.top1, "yes" if o.any_lenient else "no")
        console.print(wrong)
    table = Table(title=f"{images_dir} ({n} photos, region {region}, {reader.provider})")
    table.add_column("match")
    table.add_column("top-1", justify="right")
    table.add_column("any candidate", justify="right")
    for kind in ("lenient", "strict"):
        table.add_row(kind, f"{summary[f'top1_{kind}']:.1%}", f"{summary[f'any_{kind}']:.1%}")
    console.print(table)
    console.print(f"{summary['seconds_per_image']:.3f} s per photo")


if __name__ == "__main__":
    typer.run(main)
