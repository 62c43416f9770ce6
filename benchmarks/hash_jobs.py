"""Wall-clock time of `stopframe hash` over benign corpus JPEGs with 1 and with 2 worker processes.

    python benchmarks/hash_jobs.py [--corpus DIR] [--count 500] [--repeat 3] [--jobs 1 2]
                                   [--library]

Corpus: DIR, else $STOPFRAME_CORPUS, else ~/.cache/stopframe/corpus (benign photos under
DIR/images; fetch them with scripts/get-test-corpus.sh). `count` JPEGs evenly spaced over the
corpus in path order (every source folder, from small icons to 12 MP photos) are hashed by the real
command in a fresh process per run (start-up included), output discarded.
Each setting runs `repeat` times, interleaved so that drifting machine load hits both alike; the
median is reported, with the start-up time of the command (a run over one file, which no number
of workers shortens) and the 1-minute load average before and after (other load distorts it).
`--library` times only the `hash_paths` call, in a fresh process per run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path


def corpus_dir(given: Path | None) -> Path:
    """The corpus folder: the argument, else $STOPFRAME_CORPUS, else the default cache."""
    if given is not None:
        return given
    env = os.environ.get("STOPFRAME_CORPUS")
    return Path(env) if env else Path.home() / ".cache" / "stopframe" / "corpus"


def jpegs(corpus: Path, count: int) -> list[Path]:
    """`count` JPEG files under corpus/images, evenly spaced over them in path order."""
    found = sorted(
        path
        for path in (corpus / "images").rglob("*")
        if path.is_file() and path.suffix.lower() in (".jpg", ".jpeg")
    )
    if len(found) < count:
        sys.exit(f"only {len(found)} JPEGs under {corpus}/images; run scripts/get-test-corpus.sh")
    return [found[index * len(found) // count] for index in range(count)]


_LIBRARY_RUN = """
import sys, time
from stopframe.hashing.batch import hash_paths
files, jobs = sys.argv[2:], int(sys.argv[1])
started = time.perf_counter()
count = sum(1 for _ in hash_paths(files, jobs=jobs))
print(time.perf_counter() - started)
"""


def run_once(files: list[Path], jobs: int, library: bool = False) -> float:
    """Seconds one `stopframe hash --jobs N` run takes over `files`; with `library`, only the
    `hash_paths` call inside a fresh process (no command start-up, cold worker caches)."""
    if library:
        command = [sys.executable, "-c", _LIBRARY_RUN, str(jobs), *map(str, files)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        return float(done.stdout.strip().splitlines()[-1])
    command = [sys.executable, "-m", "stopframe", "hash", "--jobs", str(jobs), "-o", os.devnull]
    started = time.perf_counter()
    subprocess.run([*command, *map(str, files)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    """Time each jobs setting, print the medians and their ratio to the first setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--library", action="store_true", help="time hash_paths alone, without the command"
    )
    args = parser.parse_args()
    files = jpegs(corpus_dir(args.corpus), args.count)
    size_mb = sum(path.stat().st_size for path in files) / 1e6
    print(
        f"{len(files)} JPEGs ({size_mb:.0f} MB), {os.cpu_count()} CPUs, {platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    load_before = os.getloadavg()[0]
    run_once(files, 1)  # warm the page cache and the import caches
    # the command's start-up, which no number of workers shortens (none in library runs)
    startup = (
        0.0
        if args.library
        else statistics.median(run_once(files[:1], 1) for _ in range(args.repeat))
    )
    times: dict[int, list[float]] = {jobs: [] for jobs in args.jobs}
    for _ in range(args.repeat):
        for jobs in args.jobs:
            times[jobs].append(run_once(files, jobs, args.library))
    load_after = os.getloadavg()[0]
    base = statistics.median(times[args.jobs[0]])
    for jobs, runs in times.items():
        median = statistics.median(runs)
        listed = ", ".join(f"{value:.2f}" for value in runs)
        print(
            f"jobs {jobs}: median {median:.2f} s  ({listed})  "
            f"{len(files) / median:.1f} images/s  speed-up {base / median:.2f}x  "
            f"(after start-up: {(base - startup) / (median - startup):.2f}x)"
        )
    print(f"start-up (one file, jobs 1): {startup:.2f} s")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after")


if __name__ == "__main__":
    main()
