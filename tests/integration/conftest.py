"""Fixtures of the integration tests: a freshly initialised node home."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import INIT_ARGS, accord


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "smpd"
    result = accord("node", "init", "--dir", str(h), *INIT_ARGS, "--listen", "127.0.0.1:0")
    assert result.returncode == 0, result.stderr
    return h
