"""``accord node cameras|ingest|import|reads``: the node's own cameras and plate reads."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from accord.commands.options import HomeOption
from node.ingest.formats import ImportFormat

if TYPE_CHECKING:
    from node.ingest.pipeline import IngestStats

cameras_app = typer.Typer(help="The cameras this node's reads come from.", no_args_is_help=True)

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str, *, now: dt.datetime) -> dt.datetime:
    """``90s``, ``30m``, ``1h``, ``7d`` ago, or an ISO 8601 time with its UTC offset."""
    match = _DURATION.match(value.strip())
    if match:
        return now - dt.timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise typer.BadParameter(f"{value!r} is neither a duration like 1h nor an ISO time") from e
    if at.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no UTC offset (add Z or +hh:mm)")
    return at.astimezone(dt.UTC)


@cameras_app.command("add")
def cameras_add(
    home: HomeOption,
    camera_id: Annotated[str, typer.Option("--id", help="Camera id, e.g. cam-pier-01.")],
    name: Annotated[str, typer.Option(help="What and where it is, e.g. 'Pier entrance'.")],
    lat: Annotated[float, typer.Option(help="Latitude, WGS 84 degrees.")],
    lon: Annotated[float, typer.Option(help="Longitude, WGS 84 degrees.")],
    heading: Annotated[
        float | None, typer.Option(help="Direction it faces, degrees from north.")
    ] = None,
) -> None:
    """Register a camera so that reads can be attributed to it."""
    from node.cameras import add_camera

    try:
        camera = add_camera(
            home,
            camera_id,
            name=name,
            lat=lat,
            lon=lon,
            heading=heading,
            now=dt.datetime.now(dt.UTC),
        )
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    _out.print(f"camera {camera.id} ({camera.name}) added at {camera.lat}, {camera.lon}")


@cameras_app.command("list")
def cameras_list(home: HomeOption) -> None:
    """List this node's cameras."""
    from node.cameras import list_cameras

    table = Table(title="Cameras")
    for col in ("id", "name", "lat", "lon", "heading"):
        table.add_column(col)
    for c in list_cameras(home):
        heading = "" if c.heading is None else f"{c.heading:g}"
        table.add_row(c.id, c.name, f"{c.lat:.6f}", f"{c.lon:.6f}", heading)
    _out.print(table)


@cameras_app.command("remove")
def cameras_remove(
    home: HomeOption, camera_id: Annotated[str, typer.Argument(help="The camera's id.")]
) -> None:
    """Forget a camera (refused while reads from it are stored)."""
    from node.cameras import remove_camera

    remove_camera(home, camera_id)
    _out.print(f"camera {camera_id} removed")


def _stats_table(stats: IngestStats, title: str) -> Table:
    table = Table(title=title, show_header=False)
    rows = [
        ("frames decoded", stats.frames),
        ("frames sampled", stats.sampled),
        ("  still (motion gate)", stats.still),
        ("  read", stats.read),
        ("  refused by the reader", stats.failed),
        ("frames dropped (stream behind)", stats.dropped),
        ("plate sightings", stats.plates),
        ("vehicle passes", stats.passes),
        ("  dropped as unsure", stats.unsure),
        ("reads stored", stats.stored),
        ("already stored", stats.duplicates),
        ("reconnects", stats.reconnects),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    table.add_row("video time", f"{stats.video_seconds:.1f} s")
    table.add_row("wall time", f"{stats.wall_seconds:.1f} s ({stats.fps:.1f} frames/s)")
    table.add_row("execution provider", stats.provider)
    return table


def ingest(
    home: HomeOption,
    target: Annotated[str, typer.Argument(help="A video file, or an rtsp:// or http(s):// URL.")],
    camera: Annotated[str, typer.Option(help="The camera the video comes from.")],
    sample_fps: Annotated[float, typer.Option(help="Frames read per second of video.")] = 5.0,
    workers: Annotated[int, typer.Option(help="Recognition worker processes.")] = 1,
    start: Annotated[
        str | None,
        typer.Option(help="When a file's recording began (ISO 8601); default: from its mtime."),
    ] = None,
    restart: Annotated[
        bool, typer.Option(help="Read a file from the start, not from where it stopped.")
    ] = False,
) -> None:
    """Read plates from a camera's video into this node's read store.

    A file stopped with Ctrl-C resumes where it stopped when run again; a stream runs until
    Ctrl-C and reconnects with backoff when it stalls or drops.
    """
    from node.ingest.jobs import ingest_video
    from node.ingest.pipeline import IngestSettings

    try:
        settings = IngestSettings(sample_fps=sample_fps, workers=workers)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    start_time = None
    if start is not None:
        start_time = parse_since(start, now=dt.datetime.now(dt.UTC))
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} frames"),
        TextColumn("{task.fields[reads]} reads, {task.fields[fps]:.1f} fps"),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
    )
    task = progress.add_task(camera, total=None, reads=0, fps=0.0)
    first_frame = 0

    def on_start(source: object, first: int) -> None:
        nonlocal first_frame
        first_frame = first
        progress.update(task, total=getattr(source, "frame_count", 0) or None, completed=first)
        if first:
            _err.print(f"resuming at frame {first}")
        progress.start()

    def on_progress(stats: IngestStats) -> None:
        progress.update(
            task, completed=first_frame + stats.frames, reads=stats.stored, fps=stats.fps
        )

    try:
        outcome = ingest_video(
            home,
            target,
            camera,
            settings=settings,
            start_time=start_time,
            restart=restart,
            on_start=on_start,
            on_progress=on_progress,
        )
    except KeyboardInterrupt:
        progress.stop()
        _err.print("stopped; run the same command again to resume")
        raise typer.Exit(130) from None
    finally:
        progress.stop()
    if outcome.already_done:
        _out.print(f"{target} was ingested already for {camera} (use --restart to read it again)")
        return
    _out.print(_stats_table(outcome.stats, f"{target} -> {camera}"))
    if outcome.ended_early:
        _err.print("warning: the video ended before the frame count its header gives (truncated?)")


def import_(
    home: HomeOption,
    path: Annotated[Path, typer.Argument(help="The export file.")],
    fmt: Annotated[ImportFormat, typer.Option("--format", help="The file's format.")],
    camera: Annotated[
        str | None, typer.Option(help="Camera for records that name none (or an unmapped one).")
    ] = None,
    camera_map: Annotated[
        list[str] | None,
        typer.Option(help="SOURCE=CAMERA: map a source camera id to ours (repeatable)."),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(help="CSV columns, e.g. 'plate=Plate,time=Read Time,camera=Cam,id=ReadID'."),
    ] = None,
    time_format: Annotated[
        str, typer.Option(help="CSV times: iso, epoch, epoch_ms, or a strptime pattern.")
    ] = "iso",
    timezone: Annotated[
        str | None, typer.Option(help="IANA zone of CSV times without an offset.")
    ] = None,
    show_skips: Annotated[int, typer.Option(help="List at most this many skipped rows.")] = 20,
) -> None:
    """Import reads from OpenALPR / Rekor alpr_group JSON or a CSV export."""
    from node.ingest.jobs import import_reads

    mapping: dict[str, str] = {}
    for item in camera_map or []:
        source, sep, ours = item.partition("=")
        if not sep or not source or not ours:
            raise typer.BadParameter(f"--camera-map {item!r}: expected SOURCE=CAMERA")
        mapping[source] = ours
    outcome = import_reads(
        home,
        path,
        fmt,
        camera=camera,
        camera_map=mapping,
        columns=columns,
        time_format=time_format,
        timezone=timezone,
    )
    _out.print(
        f"{outcome.stored} reads stored, {outcome.duplicates} already stored, "
        f"{len(outcome.skips)} skipped"
    )
    for skip in outcome.skips[:show_skips]:
        _err.print(f"  skipped {skip.where}: {skip.reason}", markup=False)
    if len(outcome.skips) > show_skips:
        _err.print(f"  ... and {len(outcome.skips) - show_skips} more")


def reads(
    home: HomeOption,
    since: Annotated[str, typer.Option(help="1h, 30m, 7d, or an ISO 8601 time.")] = "1h",
    camera: Annotated[str | None, typer.Option(help="Only this camera's reads.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many reads.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List this node's own plate reads (they never leave the node)."""
    from node.ingest.jobs import recent_reads

    found = recent_reads(
        home, parse_since(since, now=dt.datetime.now(dt.UTC)), camera=camera, limit=limit
    )
    if as_json:
        for r in found:
            print(
                json.dumps(
                    {
                        "id": r.id,
                        "time": r.time.isoformat(),
                        "camera": r.camera_id,
                        "plate": r.text,
                        "confidence": round(r.confidence, 4),
                        "candidates": [c.text for c in r.candidates],
                        "raw": r.candidates[0].raw,
                        "source": r.source,
                        "crop": r.has_crop,
                    }
                )
            )
        return
    table = Table(title=f"Reads since {since}")
    for col in ("time (UTC)", "camera", "plate", "conf.", "other candidates", "source", "crop"):
        table.add_column(col)
    for r in found:
        table.add_row(
            r.time.strftime("%Y-%m-%d %H:%M:%S"),
            r.camera_id,
            r.text,
            f"{r.confidence:.2f}",
            " ".join(c.text for c in r.candidates[1:4]),
            r.source,
            "yes" if r.has_crop else "",
        )
    _out.print(table)
