#!/usr/bin/env bash
# Set up a virtual environment (if needed) and run the federation demo on loopback.
# Arguments go to `accord demo` (for example --dir DIR or --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/accord demo "$@"
