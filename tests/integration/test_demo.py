"""`accord demo` as a newcomer runs it, then the auditor's commands on what it leaves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CITIES = ("santa-monica-pd", "culver-city-pd", "los-angeles-pd")


def accord(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accord.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("demo") / "out"
    result = accord("demo", "--dir", str(d))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Every step succeeded" in result.stdout
    return d


def test_demo_leaves_each_ledger_as_tiles_with_its_key(demo_dir: Path) -> None:
    for city in CITIES:
        assert (demo_dir / city / "ledger" / "checkpoint").is_file()
        assert (demo_dir / city / "ledger" / "tile" / "entries").is_dir()
        vkey = (demo_dir / city / "ledger.vkey").read_text().strip()
        assert vkey.startswith(f"accord/{city}/ledger+")
        printed = accord("ledger", "vkey", "--dir", str(demo_dir / city))
        assert printed.stdout.strip() == vkey
        witness = accord("ledger", "witness-vkey", "--dir", str(demo_dir / city))
        assert witness.stdout.startswith(f"accord/{city}/witness+")


def test_audit_verify_passes_then_fails_on_tampering(demo_dir: Path, tmp_path: Path) -> None:
    import shutil

    city = demo_dir / "santa-monica-pd"
    ok = accord(
        "audit",
        "verify",
        "--policy",
        str(city / "audit-policy.toml"),
        "--log",
        str(city / "ledger"),
    )
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout
    copy = tmp_path / "ledger"
    shutil.copytree(city / "ledger", copy)
    bundle = next(p for p in (copy / "tile" / "entries").rglob("*") if p.is_file())
    data = bytearray(bundle.read_bytes())
    data[-3] ^= 0x01
    bundle.write_bytes(bytes(data))
    bad = accord("audit", "verify", "--policy", str(city / "audit-policy.toml"), "--log", str(copy))
    assert bad.returncode == 1
    assert bad.stderr.startswith("FAILED:")


def test_export_from_the_cli_matches_the_demo_export(demo_dir: Path, tmp_path: Path) -> None:
    city = demo_dir / "culver-city-pd"
    out = tmp_path / "tiles"
    result = accord("ledger", "export", str(out), "--dir", str(city))
    assert result.returncode == 0, result.stderr
    verify = accord(
        "audit", "verify", "--policy", str(city / "audit-policy.toml"), "--log", str(out)
    )
    assert verify.returncode == 0, verify.stderr


def test_the_report_judges_the_demo_agreements_by_their_signed_documents(demo_dir: Path) -> None:
    """Each city exports its signed agreements beside its ledger; they are current, so the
    transparency report lists every one in force, with its validity."""
    import json

    doc = json.loads((demo_dir / "report" / "report.json").read_text())
    agreements = doc["agreements"]["agreements"]
    assert agreements
    assert [a["state"] for a in agreements] == ["in_force"] * len(agreements)
    assert doc["agreements"]["in_force"] == len(agreements)
    assert all(a["valid_from"] and a["valid_until"] for a in agreements)
    assert doc["agreements"]["documents"]["rejected"] == []


def test_audit_verify_bad_policy_is_one_clear_line(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('log = "nonsense"\n')
    result = accord("audit", "verify", "--policy", str(policy), "--log", str(tmp_path))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1


def test_demo_reads_the_stolen_car_off_camera_footage(demo_dir: Path) -> None:
    import json

    listed = accord(
        "node", "reads", "--dir", str(demo_dir / "culver-city-pd"), "--since", "15m", "--json"
    )
    assert listed.returncode == 0, listed.stderr
    reads = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    from_video = [r for r in reads if r["source"] == "video"]
    assert [(r["plate"], r["camera"], r["crop"]) for r in from_video] == [
        ("7QRS482", "culver-city-pd-cam-1", True)
    ]
