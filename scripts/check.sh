#!/usr/bin/env bash
# Static checks: ruff (lint and format), mypy (strict on the library's core layers) and
# import-linter (the layer order of docs/architecture.md). Run from anywhere; uses .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
[ -x "$bin/ruff" ] && [ -x "$bin/mypy" ] && [ -x "$bin/lint-imports" ] || bash scripts/bootstrap.sh >&2
status=0
echo "== ruff check" && "$bin/ruff" check src tests benchmarks || status=1
echo "== ruff format --check" && "$bin/ruff" format --check src tests benchmarks || status=1
echo "== mypy" && "$bin/mypy" || status=1
echo "== import-linter" && "$bin/lint-imports" --no-cache || status=1
exit $status
