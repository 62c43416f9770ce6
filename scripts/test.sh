#!/usr/bin/env bash
# Run the whole test suite in the project's virtual environment (.venv), creating it if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >&2
exec .venv/bin/python -m pytest -n "${STOPFRAME_TEST_JOBS:-auto}" "$@"
