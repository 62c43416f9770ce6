"""Triage benchmark: a synthetic seized collection built from the benign corpus with known ground
truth, grouped by stopframe triage, plain PDQ and imagededup in one run; distinct-count error,
BCubed precision/recall/F1, merged originals, files/s, and grouping alone on N hashed pictures.

    PYTHONPATH=src python benchmarks/triage.py [--corpus DIR] [--out DIR] [--pictures N]
        [--videos N] [--jobs N] [--grouping 100000]
"""

from __future__ import annotations

import sys

from stopframe.cli import app

if __name__ == "__main__":
    sys.exit(app(["bench", "triage", *sys.argv[1:]]))
