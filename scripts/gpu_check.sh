#!/usr/bin/env bash
# The GPU checks in one call, on a machine with a CUDA GPU: install the gpu extra (CUDA builds of
# torch and torchvision), run the `gpu` tests, the corpus conformance (GPU PDQ within 10 bits of
# the CPU PDQ for >= 99 % of corpus photos) and benchmarks/hash_gpu.py. Each step has a time limit
# (at most 9 minutes in all, so one 10-minute call on a lent machine holds it); a failing step
# is reported and the next still runs. Logs and summary.tsv go to $OUT, else
# gpu-check-<UTC time>/. Exit 1 if any step failed. stopframe runs from this checkout (src/ on
# PYTHONPATH).
#   PYTHON=...           interpreter (default: .venv/bin/python, else python3)
#   TORCH_INDEX_URL=...  pip index for torch and torchvision when the installed torch has no CUDA
#                        (default: PyPI, whose Linux x86-64 wheels are CUDA builds)
# On a machine with no network whose Python already has CUDA builds of torch and torchvision
# (a CUDA image), put the wheels scripts/gpu_wheels.sh downloads in .whl/ beside this checkout:
# they are installed from there, into a folder outside the checkout, and nothing is fetched.
# The corpus is too large to carry whole: scripts/gpu_corpus_sample.sh copies a spread sample
# under 48 MiB to .gpu-corpus/; there, run STOPFRAME_CORPUS=.gpu-corpus bash scripts/gpu_check.sh.
#   STOPFRAME_CORPUS=... the benign corpus (default ~/.cache/stopframe/corpus; without it the
#                        corpus step skips, saying so: fetch it with scripts/get-test-corpus.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
summary="$out/summary.tsv"
printf 'step\texit\tseconds\n' >"$summary"
failed=0

step() { # step NAME SECONDS COMMAND...: run under a time limit, log to $out/NAME.log, record it
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit}s)"
  local start=$SECONDS
  timeout --kill-after=10 "$limit" bash -c '"$@"' "$name" "$@" 2>&1 | tee "$out/$name.log"
  local rc=${PIPESTATUS[0]}
  printf '%s\t%s\t%s\n' "$name" "$rc" $((SECONDS - start)) >>"$summary"
  if [ "$rc" -ne 0 ]; then
    failed=1
    echo "!! $name failed: exit $rc (124: over its time limit); log in $out/$name.log"
  fi
}

site="${TMPDIR:-/tmp}/stopframe-gpu-site"  # wheels from .whl/ go here, never into the checkout
export PYTHONPATH="$site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

install() { # offline: the wheels in .whl/; online: the gpu extra, then CUDA builds of torch and
  # torchvision if the installed ones lack it. Either way stopframe must then import.
  if ls .whl/*.whl >/dev/null 2>&1; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$site" .whl/*.whl
  else
    "$py" -m pip install -e '.[gpu]' 'pytest>=8,<10' || echo "pip install of the gpu extra failed"
    if ! "$py" -c 'import sys, torch, torchvision; sys.exit(0 if torch.version.cuda else 1)'; then
      "$py" -m pip install --force-reinstall 'torch>=2.4' 'torchvision>=0.19' \
        ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
    fi
  fi
  "$py" -c 'import sys, torch, torchvision, stopframe.signals.pdq_torch
sys.exit(0 if torch.version.cuda else 1)'
}

environment() { # what the figures were measured on; fails without a usable CUDA device
  nvidia-smi || echo "nvidia-smi not found"
  "$py" - <<'EOF'
import torch, torchvision
from stopframe.bench.corpus import default_corpus_dir, list_images
corpus = default_corpus_dir()
print("torch", torch.__version__, "cuda", torch.version.cuda, "torchvision", torchvision.__version__)
print("corpus", corpus, len(list_images(corpus / "images")), "photos")
assert torch.cuda.is_available(), "torch sees no CUDA device"
print("device", torch.cuda.get_device_name())
EOF
}

run_pytest() { # run_pytest NAME ARGS...: the gpu-marked tests, skip reasons shown, JUnit XML kept
  local name=$1
  shift
  "$py" -m pytest -p no:xdist -p no:cacheprovider -m gpu -ra --junitxml="$out/$name.xml" "$@"
}

export py out site
export -f install environment run_pytest
step install 180 install
step environment 30 environment
step gpu-tests 120 run_pytest gpu-tests tests/signals/test_pdq_torch.py tests/index/test_gpu.py \
  -k 'not corpus'
step corpus 90 run_pytest corpus tests/signals/test_pdq_torch.py -k corpus
step hash-gpu 120 "$py" benchmarks/hash_gpu.py

echo "== summary ($out/summary.tsv)"
column -t "$summary" 2>/dev/null || cat "$summary"
grep -h -E '^=+ .*(passed|failed|skipped|error)' "$out"/*.log  # a skip passes: its reason is in the log
exit "$failed"
