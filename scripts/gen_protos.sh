#!/usr/bin/env bash
# Regenerate accord/v1/*_pb2*.py[i] from proto/accord/v1/*.proto. The generated files are
# committed and never edited by hand; tests/unit/test_generated_stubs.py fails when this
# script would change them. Usage: scripts/gen_protos.sh [OUTPUT_ROOT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-.}"
PY=python3
if [ -x .venv/bin/python ]; then
  PY=.venv/bin/python
  export PATH="$PWD/.venv/bin:$PATH"  # protoc-gen-mypy and protoc-gen-mypy_grpc
fi
mkdir -p "$OUT/accord/v1"
"$PY" -m grpc_tools.protoc \
  -Iproto \
  --python_out="$OUT" \
  --grpc_python_out="$OUT" \
  --mypy_out="$OUT" \
  --mypy_grpc_out="$OUT" \
  proto/accord/v1/*.proto
