"""Scan a large collection against list stores in resumable shards, on a local process pool or
on Ray, writing one Parquet row per file (see docs/scan.md)."""

from stopframe.scan.rows import read_rows
from stopframe.scan.run import ScanOptions, ScanSummary, run_scan

__all__ = ["ScanOptions", "ScanSummary", "read_rows", "run_scan"]
