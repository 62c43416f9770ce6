"""Robustness benchmark: recall at precision >= 99.9 % / 99.99 % under ~70 named edits, for
pdqhash (Meta's reference), imagehash pHash 8x8 and 16x16, stopframe PDQ and stopframe robust
matching, in one run on the benign corpus.

    PYTHONPATH=src python benchmarks/robustness.py [--corpus DIR] [--out DIR] [--per-transform N]
"""

from __future__ import annotations

import sys

from stopframe.cli import app

if __name__ == "__main__":
    sys.exit(app(["bench", "robustness", *sys.argv[1:]]))
