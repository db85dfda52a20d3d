"""``accord audit report`` as a user runs it: exit codes, one clear line, no partial write."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from audit.ledger_set import LOG_DIR
from tests.support.cli import accord
from tests.unit.audit.ledger_builder import T0_MS, build_export, entry, hex32


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("exports")
    for node in ("alpha", "bravo"):
        actions = [
            entry(node, "admin.action", T0_MS + i, action="test", actor=hex32("a"), detail=f"{i}")
            for i in range(6)
        ]
        build_export(base, node, actions)
    return base


def test_clean_ledgers_exit_zero(exports: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = accord(
        "audit",
        "report",
        "--ledgers",
        str(exports / "alpha"),
        str(exports / "bravo"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "verified alpha: 6 entries" in result.stdout
    assert "verified bravo: 6 entries" in result.stdout
    doc = json.loads((out / "report.json").read_text())
    assert [v["node"] for v in doc["ledgers"]["verified"]] == ["alpha", "bravo"]
    assert (out / "index.html").read_text().startswith("<!DOCTYPE html>")


def test_a_failing_ledger_is_excluded_and_the_exit_says_so(exports: Path, tmp_path: Path) -> None:
    fed = tmp_path / "fed"
    shutil.copytree(exports, fed)
    (fed / "bravo" / LOG_DIR / "tile" / "entries" / "000.p" / "6").unlink()
    out = tmp_path / "report"
    result = accord("audit", "report", "--ledgers", str(fed), "--out", str(out))
    assert result.returncode == 2
    assert "EXCLUDED bravo: missing or unreadable tile/entries/000.p/6" in result.stderr
    assert "1 ledger(s) failed verification and are not counted." in result.stderr
    doc = json.loads((out / "report.json").read_text())
    assert [v["node"] for v in doc["ledgers"]["verified"]] == ["alpha"]
    assert [x["label"] for x in doc["ledgers"]["excluded"]] == ["bravo"]


def test_a_directory_without_ledgers_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "report"
    result = accord("audit", "report", "--ledgers", str(tmp_path / "empty"), "--out", str(out))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("FAILED: ") and "holds no ledger export" in result.stderr
    assert not out.exists()


def test_an_unwritable_output_is_one_line(exports: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.write_text("a file, not a directory")
    result = accord("audit", "report", "--ledgers", str(exports), "--out", str(out))
    assert result.returncode == 1
    assert result.stderr.startswith("FAILED: ") and "cannot write the report" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert out.read_text() == "a file, not a directory"
