#!/usr/bin/env bash
# Install stopframe (into .venv) and run its main job: hash the shipped sample images, or the
# folder given, and print the results. Usage: bash scripts/quickstart.sh [FOLDER]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/bootstrap.sh" >&2
exec "$root/.venv/bin/stopframe" quickstart "$@"
