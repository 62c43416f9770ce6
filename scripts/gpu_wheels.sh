#!/usr/bin/env bash
# Wheels for running scripts/gpu_check.sh on a GPU machine with no network: CUDA images carry
# torch, torchvision, NumPy, Pillow, Numba, Typer and pytest, but not stopframe's settings layer
# (pydantic and pydantic-settings with what they need). This downloads those, at the versions
# installed here, as wheels for the target machine's Python into .whl/ (git-ignored); copy the
# folder beside the checkout there and gpu_check.sh installs them from it without a network.
#   bash scripts/gpu_wheels.sh [PYTHON_VERSION] [EXTRA_PACKAGE==VERSION ...]
#   PYTHON_VERSION  the target's `python3 --version` as X.Y (default 3.12)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-3.12}"
shift || true
py="${PYTHON:-.venv/bin/python}"
names=(pydantic pydantic-core pydantic-settings python-dotenv annotated-types typing-inspection
  typing-extensions)
pins=()
for name in "${names[@]}"; do
  version="$("$py" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')"
  [ -n "$version" ] || { echo "$name is not installed in $py: run scripts/bootstrap.sh" >&2; exit 2; }
  pins+=("$name==$version")
done
platforms=()
for tag in manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_28_x86_64 manylinux_2_34_x86_64; do
  platforms+=(--platform "$tag")
done
rm -rf .whl && mkdir -p .whl
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version "$target" \
  --implementation cp "${platforms[@]}" -d .whl "${pins[@]}" "$@"
ls -l .whl
du -sh .whl
