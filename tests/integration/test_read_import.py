"""Importing reads from systems agencies already own: OpenALPR alpr_group JSON and CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_video_ingest import add_camera, stored_reads
from tests.support.cli import accord

PLATES = ("7QRS482", "8ABC123")


def alpr_group(uuid: str, plate: str, epoch_ms: int, camera_id: int = 1) -> dict[str, object]:
    return {
        "data_type": "alpr_group",
        "version": 2,
        "epoch_start": epoch_ms,
        "epoch_end": epoch_ms + 900,
        "agent_uid": "agent-7",
        "camera_id": camera_id,
        "best_uuid": uuid,
        "uuids": [uuid],
        "best_plate_number": plate,
        "best_confidence": 91.5,
        "best_plate": {
            "plate": plate,
            "confidence": 91.5,
            "candidates": [
                {"plate": plate, "confidence": 91.5},
                {"plate": plate[:-1] + "8", "confidence": 72.0},
            ],
        },
    }


def test_openalpr_groups_import_once_with_candidates_and_utc_times(
    home: Path, tmp_path: Path
) -> None:
    add_camera(home)
    export = tmp_path / "groups.jsonl"
    lines = [
        json.dumps(alpr_group("u-1", PLATES[0], 1_733_000_000_000)),
        json.dumps({"data_type": "heartbeat", "agent_uid": "agent-7"}),
        "{ this line is broken",
        json.dumps(alpr_group("u-2", PLATES[1], 1_733_000_060_000)),
    ]
    export.write_text("\n".join(lines) + "\n")
    args = ["node", "import", "--dir", str(home), str(export), "--format", "openalpr"]
    first = accord(*args, "--camera-map", "1=cam-pier-01")
    assert first.returncode == 0, first.stderr
    assert "2 reads stored, 0 already stored, 2 skipped" in first.stdout
    assert "line 2" in first.stderr and "line 3" in first.stderr
    again = accord(*args, "--camera-map", "1=cam-pier-01")
    assert "0 reads stored, 2 already stored, 2 skipped" in again.stdout
    reads = stored_reads(home)
    assert [r["plate"] for r in reads] == list(PLATES)
    assert reads[0]["time"] == "2024-11-30T20:53:20+00:00"
    assert reads[0]["confidence"] == pytest.approx(0.915)
    assert reads[0]["candidates"] == [PLATES[0], PLATES[0][:-1] + "8"]
    assert {r["source"] for r in reads} == {"openalpr"}


def test_csv_import_maps_columns_and_converts_local_times(home: Path, tmp_path: Path) -> None:
    add_camera(home)
    export = tmp_path / "reads.csv"
    export.write_text(
        "Read ID,Plate,Read Time,Conf\n"
        f"r1,{PLATES[0]},2024-07-04 09:30:00,88\n"
        f"r2,{PLATES[1]},not a time,90\n"
        f"r3,{PLATES[1]},2024-07-04 09:31:00,250\n"
    )
    result = accord(
        "node",
        "import",
        "--dir",
        str(home),
        str(export),
        "--format",
        "csv",
        "--camera",
        "cam-pier-01",
        "--timezone",
        "America/Los_Angeles",
        "--columns",
        "plate=Plate,time=Read Time,confidence=Conf,id=Read ID",
    )
    assert result.returncode == 0, result.stderr
    assert "1 reads stored, 0 already stored, 2 skipped" in result.stdout
    for plate in PLATES:  # skip reasons name rows and columns, never plates
        assert plate not in result.stderr and plate not in result.stdout
    (read,) = stored_reads(home)
    assert read["time"] == "2024-07-04T16:30:00+00:00"
    assert read["confidence"] == pytest.approx(0.88)


def test_imports_refuse_unknown_cameras_and_broken_files(home: Path, tmp_path: Path) -> None:
    export = tmp_path / "reads.csv"
    export.write_text(f"plate,time\n{PLATES[0]},2024-07-04T09:30:00Z\n")
    unknown = accord(
        "node",
        "import",
        "--dir",
        str(home),
        str(export),
        "--format",
        "csv",
        "--camera",
        "cam-nowhere",
    )
    assert unknown.returncode == 1 and "unknown camera 'cam-nowhere'" in unknown.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("<html>not json</html>")
    add_camera(home)
    bad = accord(
        "node",
        "import",
        "--dir",
        str(home),
        str(broken),
        "--format",
        "openalpr",
        "--camera",
        "cam-pier-01",
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")
    assert stored_reads(home) == []
