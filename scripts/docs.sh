#!/usr/bin/env bash
# Build the documentation site with warnings as errors: installs the docs extra into .venv when
# mkdocs is missing, regenerates the API reference from the apps, then runs mkdocs --strict.
# Usage: bash scripts/docs.sh [SITE_DIR]   (default build/site)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
[ -x "$bin/python" ] || bash scripts/bootstrap.sh >&2
[ -x "$bin/mkdocs" ] || "$bin/pip" install --quiet -e '.[docs]'
"$bin/python" scripts/openapi_docs.py >/dev/null
NO_MKDOCS_2_WARNING=1 "$bin/mkdocs" build --strict --site-dir "${1:-build/site}"
