#!/usr/bin/env bash
# A sample of the benign corpus photos small enough to carry to a GPU machine with no network,
# for gpu_check.sh's corpus step there: every k-th photo in path order (k chosen so that the
# sample stays under MAX_MIB), copied with its folders into .gpu-corpus/images (git-ignored).
# Run it there as STOPFRAME_CORPUS=.gpu-corpus bash scripts/gpu_check.sh.
#   bash scripts/gpu_corpus_sample.sh [MAX_MIB]   (default 48)
#   STOPFRAME_CORPUS=...  the corpus to sample (default ~/.cache/stopframe/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-.venv/bin/python}"
rm -rf .gpu-corpus
PYTHONPATH="$PWD/src" "$py" - "${1:-48}" <<'PY'
import math
import shutil
import sys
from pathlib import Path

from stopframe.bench.corpus import default_corpus_dir, list_images

limit = float(sys.argv[1]) * 2**20
source = default_corpus_dir() / "images"
photos = list_images(source)
if not photos:
    sys.exit(f"no photos under {source}: run scripts/get-test-corpus.sh or set STOPFRAME_CORPUS")
total = sum(p.stat().st_size for p in photos)
step = max(1, math.ceil(total / limit))
taken, size = [], 0
for photo in photos[::step]:
    if size + photo.stat().st_size > limit:
        break
    taken.append(photo)
    size += photo.stat().st_size
for photo in taken:
    target = Path(".gpu-corpus/images") / photo.relative_to(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(photo, target)
print(f"{len(taken)} of {len(photos)} photos (every {step}th), {size / 2**20:.1f} MiB in .gpu-corpus")
PY
