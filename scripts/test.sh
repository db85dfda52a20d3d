#!/usr/bin/env bash
# Set up a virtual environment (if needed) and run every check CI runs:
# lint, format, strict typing, then the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# The transparency report's render test needs a headless browser: Debian's Chromium.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
# Two workers by default (ACCORD_TEST_WORKERS=0 runs in one process); each module's
# tests stay on one worker, so module-scoped fixtures (the demo runs) are made once.
.venv/bin/python -m pytest -n "${ACCORD_TEST_WORKERS:-2}" --dist loadscope "$@"
