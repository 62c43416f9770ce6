"""Files per second of `stopframe scan` on the local pool and on Ray, and Ray's overhead.

    python benchmarks/scan.py [--files 10000] [--jobs 2] [--repeat 3] [--shard-files 500]
                              [--no-ray]

The corpus is the scan tests' own (tests/scan/scan_corpus.py): tiny benign generated PNGs, some
copies, some corrupt, some text, made in a temporary folder; a list store of a few entries is
matched against. Each setting runs `repeat` times, interleaved so drifting machine load hits
both alike, each into a fresh output folder; the median is reported. The local pool starts its
workers in every scan (that is its cost); Ray is started once (reported apart: a cluster is
long-lived), its first scan (worker processes starting) is reported as "cold", and the overhead
is Ray's median against the pool's. Goal: overhead <= 15 %.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from stopframe.hashing.files import hash_file
from stopframe.lists.documents import ListEntry, Snapshot
from stopframe.lists.store import ListStore
from stopframe.scan import ScanOptions, run_scan

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "scan" / "scan_corpus.py"


def corpus_module() -> ModuleType:
    """The scan tests' corpus generator."""
    spec = importlib.util.spec_from_file_location("scan_corpus", CORPUS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_store(path: Path, files: list[Path], banks: dict[str, dict[str, Any]]) -> Path:
    """A list store with the MD5 and PDQ of every 100th file."""
    entries = []
    for number, file in enumerate(files[::100]):
        entries.append(ListEntry(2 * number + 1, "known", "md5",
                                 hashlib.md5(file.read_bytes()).hexdigest(), None))  # fmt: skip
        pdq = hash_file(file).signal("pdq")
        if pdq is not None:
            entries.append(ListEntry(2 * number + 2, "similar", "pdq", pdq.value, pdq.quality))
    with ListStore.open(path) as store:
        store.apply_snapshot(Snapshot(1, "key1", banks, entries), "http://registry.bench")
    return path


def timed(root: Path, out: Path, options: ScanOptions) -> float:
    """Seconds of one complete scan into a fresh `out`."""
    started = time.perf_counter()
    summary = run_scan([root], out, options)
    seconds = time.perf_counter() - started
    assert summary.complete, summary
    return seconds


def main() -> None:
    """Parse arguments, build the corpus, time the runners, print the table and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shard-files", type=int, default=500)
    parser.add_argument("--no-ray", action="store_true", help="time the local pool only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stopframe-scan-bench-"))
    corpus = corpus_module()
    files = corpus.make_corpus(work / "collection", args.files)
    store = make_store(work / "lists.sqlite", files, corpus.BANKS)
    base = ScanOptions(jobs=args.jobs, shard_files=args.shard_files, stores=(store,), restart=True)
    runners = {"pool": base}
    result: dict[str, object] = {"files": args.files, "jobs": args.jobs, "cpus": os.cpu_count(),
                                 "python": platform.python_version()}  # fmt: skip
    if not args.no_ray:
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=args.jobs, include_dashboard=False, log_to_driver=False)
        result["ray_start_s"] = round(time.perf_counter() - started, 2)
        runners["ray"] = dataclasses.replace(base, ray="auto")
        result["ray_cold_s"] = round(
            timed(work / "collection", work / "out-ray", runners["ray"]), 2
        )
    times: dict[str, list[float]] = {name: [] for name in runners}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeat):
        for name, options in runners.items():
            times[name].append(timed(work / "collection", work / f"out-{name}", options))
    result["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    for name, seconds in times.items():
        median = statistics.median(seconds)
        result[f"{name}_s"] = round(median, 2)
        result[f"{name}_files_per_s"] = round(args.files / median, 1)
        print(f"{name:5} {median:7.2f} s  {args.files / median:8.1f} files/s  runs {seconds}")
    if "ray" in times:
        overhead = statistics.median(times["ray"]) / statistics.median(times["pool"]) - 1
        result["ray_overhead_pct"] = round(100 * overhead, 1)
        print(f"Ray overhead against the pool: {100 * overhead:+.1f} % (goal <= 15 %)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
