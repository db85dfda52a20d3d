"""The demo's federation, with fewer reads, once direct and once with Los Angeles behind
the broker's relay: the outcomes are asserted, not just the exit code.

Each run is the real thing: a broker and four nodes on loopback with mutual TLS, members
admitted from their own files, peers only from the signed directory, private queries,
alerts from camera footage, cosigning by peers and the broker, and the auditor's three
commands over what the nodes exported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from accord.demo.reads import OF_INTEREST, STOLEN

CITIES = ("santa-monica-pd", "culver-city-pd", "los-angeles-pd")
BROKER_WITNESS = "accord/broker/socal-rtcc/witness"


@dataclass(frozen=True)
class DemoRun:
    base: Path
    out: str
    relay_only: tuple[str, ...]


def accord(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accord.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1"},
    )


@pytest.fixture(scope="module", params=[(), ("los-angeles-pd",)], ids=["direct", "relay"])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    relay_only: tuple[str, ...] = request.param
    base = tmp_path_factory.mktemp("federation") / "demo"
    args = ["demo", "--dir", str(base), "--reads", "200"]
    for name in relay_only:
        args += ["--relay-only", name]
    result = accord(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return DemoRun(base, result.stdout, relay_only)


def step(run: DemoRun, title: str) -> str:
    """The outcome line of the step called ``title`` (it must have succeeded)."""
    found = re.search(rf"^✓ {re.escape(title)}: (.*)$", run.out, re.MULTILINE)
    assert found, f"no successful step {title!r} in:\n{run.out}"
    return found.group(1)


def test_every_step_succeeded(run: DemoRun) -> None:
    assert "Every step succeeded" in run.out
    assert "✗" not in run.out


def test_peers_come_from_the_signed_directory(run: DemoRun) -> None:
    for city in CITIES:
        others = ", ".join(sorted(set(CITIES) - {city}))
        assert f"peers {others}" in step(run, f"{city} fetches the directory")
    removed = step(run, "the operator removes fbi-los-angeles")
    assert "deactivated fbi-los-angeles" in removed


def test_refusals_name_the_rule(run: DemoRun) -> None:
    federal = step(run, "fbi-los-angeles proposes an agreement to culver-city-pd")
    assert federal.endswith("ca-sb34-no-federal")
    purpose = step(run, "a query outside its agreement")
    assert purpose == "refused by culver-city-pd: agreement.purpose; nothing evaluated"


def test_hits_and_alerts_arrive(run: DemoRun) -> None:
    assert step(run, "ad-hoc query with purpose and case number").startswith(
        "4 hit(s) for 3 plates asked"
    )
    alerts = step(run, "hotlist alert at santa-monica-pd")
    assert re.match(r"[3-9] alert\(s\) for the hotlisted stolen car, the last one live", alerts)


def test_the_relay_carries_the_relay_only_city(run: DemoRun) -> None:
    for asker in CITIES:
        for answerer in CITIES:
            if asker == answerer:
                continue
            line = step(run, f"{asker} checks {answerer}'s health")
            relayed = "through the broker's relay" in line
            assert relayed == (answerer in run.relay_only), line


def test_every_ledger_is_cosigned_by_peers_and_broker(run: DemoRun) -> None:
    for city in CITIES:
        line = step(run, f"{city}'s ledger is witnessed by its peers and the broker")
        for other in set(CITIES) - {city}:
            assert f"accord/{other}/witness" in line
        assert BROKER_WITNESS in line


def test_the_auditor_pairs_every_exchange_with_no_finding(run: DemoRun) -> None:
    args = ["audit", "check", "--profile", "us-ca-sb34", "--json"]
    for city in CITIES:
        args += [
            "--ledgers",
            str(run.base / city),
            "--agreements",
            str(run.base / city / "agreements"),
        ]
    checked = accord(*args)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["findings"] == []
    assert sorted(s["node"] for s in report["ledgers"]) == sorted(CITIES)
    assert all(s["witnessed"] for s in report["ledgers"])
    published = json.loads((run.base / "report" / "report.json").read_text())
    assert published["format"] == "accord/transparency-report"


def test_the_broker_holds_no_plate(run: DemoRun) -> None:
    """Neither the plates of the story nor any common hash of them is in the broker's
    files (directory snapshots, witness state)."""
    needles: set[bytes] = set()
    for plate in (STOLEN, OF_INTEREST):
        for spelling in (plate, plate.lower()):
            raw = spelling.encode()
            needles.add(raw)
            for algorithm in ("sha256", "sha1", "md5", "blake2b", "blake2s"):
                digest = hashlib.new(algorithm, raw)
                needles.add(digest.hexdigest().encode())
                needles.add(digest.digest())
    files = [p for p in (run.base / "broker").rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert not [n for n in needles if n in data], path


def test_keep_leaves_the_federation_running_for_the_cli_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    import signal

    base = tmp_path / "kept"
    args = ["demo", "--dir", str(base), "--reads", "100", "--keep"]
    demo = subprocess.Popen(
        [sys.executable, "-m", "accord.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1"},
    )
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            if "keeps running" in line:
                break
        else:
            pytest.fail(f"the demo ended without keeping the federation: rc {demo.wait()}")
        asked = accord(
            "query", "hits", "--dir", str(base / "santa-monica-pd"), "--peer", "culver-city-pd",
            "--plate", OF_INTEREST, "--purpose", "homicide", "--case", "26-00412",
            "--user", "detective-ramos", "--days", "7", "--json",
        )  # fmt: skip
        assert asked.returncode == 0, asked.stdout + asked.stderr
        hits = json.loads(asked.stdout)["hits"]
        assert [(h["plate"], h["peer"]) for h in hits] == [(OF_INTEREST, "culver-city-pd")]
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, rest
    assert "stopped" in rest
