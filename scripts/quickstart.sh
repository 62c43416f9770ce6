#!/usr/bin/env bash
# Install stopframe (into .venv) and run its main job, `stopframe demo`: a registry and a matcher
# on loopback with SQLite, a victim's case, a platform's uploads, reports, a withdrawal and
# triage, each stage checked (exit 1 naming the stage that failed).
# Usage: bash scripts/quickstart.sh [--keep] [--work FOLDER]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/bootstrap.sh" >&2
exec "$root/.venv/bin/stopframe" demo "$@"
