"""Running the ``accord`` command as a user does: a real process, wide plain output."""

from __future__ import annotations

import os
import subprocess
import sys

INIT_ARGS = [
    "--name",
    "santa-monica-pd",
    "--ori",
    "CA0194200",
    "--jurisdiction",
    "US-CA",
    "--kind",
    "municipal",
]


def accord(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accord.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
