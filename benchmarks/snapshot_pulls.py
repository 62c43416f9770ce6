"""Snapshot pull memory: peak RSS of a registry serving one large snapshot page to several
consumers at once, with the snapshot cache off (every pull builds its own page) and on (one build,
shared bytes, streamed).

    PYTHONPATH=src python benchmarks/snapshot_pulls.py                  # 200k entries, 8 pulls
    PYTHONPATH=src python benchmarks/snapshot_pulls.py --entries 50000 --pulls 4

It loads the entries once, then starts a real `stopframe serve` process per mode on 127.0.0.1
and reads its resident memory from /proc (Linux).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from registry import free_port, start_server
from stopframe.apps.registry.services import banks, keys
from stopframe.apps.registry.services.feed import SNAPSHOT_PAGE_MAX
from stopframe.apps.registry.services.transfer import import_signals
from stopframe.apps.registry.state import open_registry
from stopframe.apps.registry.terms import Scope
from stopframe.config import RegistrySettings as Settings
from stopframe.signals import Signal


def memory_mib(pid: int, field: str) -> float:
    """A /proc/<pid>/status memory field (VmRSS now, VmHWM peak) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"{field} not in /proc/{pid}/status")


def pull(base: str, read_key: str, limit: int) -> int:
    """Stream one snapshot page, discarding it; its size in bytes."""
    size = 0
    headers = {"Authorization": f"Bearer {read_key}"}
    with httpx.stream(
        "GET", f"{base}/v1/lists/snapshot", params={"limit": limit}, headers=headers, timeout=600
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
    return size


def measure(env: dict[str, str], read_key: str, pulls: int, limit: int) -> dict[str, float]:
    """Start a server with `env`, pull the page `pulls` times at once; RSS before and at peak."""
    port = free_port()
    server = start_server({**env, "STOPFRAME_PORT": str(port)}, port)
    base = f"http://127.0.0.1:{port}"
    try:
        pull(base, read_key, 1)  # a small page first: the code paths loaded, the baseline set
        before = memory_mib(server.pid, "VmRSS")
        started = time.perf_counter()
        with ThreadPoolExecutor(pulls) as pool:
            sizes = list(pool.map(lambda _: pull(base, read_key, limit), range(pulls)))
        seconds = time.perf_counter() - started
        peak = memory_mib(server.pid, "VmHWM")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return {"before": before, "peak": peak, "seconds": seconds, "page_mib": sizes[0] / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=SNAPSHOT_PAGE_MAX)
    parser.add_argument("--pulls", type=int, default=8)
    args = parser.parse_args()
    limit = min(args.entries, SNAPSHOT_PAGE_MAX)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        url = f"sqlite:///{data_dir / 'registry.sqlite'}"
        reg = open_registry(Settings(data_dir=data_dir, database_url=url))
        with reg.db.write() as session:
            read_key = keys.create_key(session, "bench", [Scope.READ], "bench").key
            bank = banks.create_bank(session, "bulk", ["sha256"], "bench")
            signals = [
                Signal("sha256", hashlib.sha256(f"pull-{i}".encode()).hexdigest())
                for i in range(args.entries)
            ]
            import_signals(session, bank, signals, "bench", "benchmark")
        reg.db.dispose()
        env = {
            **os.environ,
            "STOPFRAME_DATA_DIR": str(data_dir),
            "STOPFRAME_DATABASE_URL": url,
            "STOPFRAME_KEY_RATE": "1000000",
            "STOPFRAME_KEY_BURST": "1000000",
        }
        print(f"{args.pulls} parallel pulls of a {limit:,}-entry snapshot page, {sys.platform}")
        results = {}
        for mode, cache_bytes in (("uncached", "0"), ("cached", str(256 << 20))):
            got = measure(
                {**env, "STOPFRAME_SNAPSHOT_CACHE_BYTES": cache_bytes},
                read_key,
                args.pulls,
                limit,
            )
            results[mode] = got
            print(
                f"{mode:>8}: page {got['page_mib']:.1f} MiB, RSS {got['before']:.0f} -> peak "
                f"{got['peak']:.0f} MiB (+{got['peak'] - got['before']:.0f}), "
                f"{got['seconds']:.2f} s"
            )
        old, new = results["uncached"], results["cached"]
        print(
            f"cached/uncached: peak RSS {new['peak'] / old['peak']:.2f}, growth "
            f"{(new['peak'] - new['before']) / (old['peak'] - old['before']):.2f}, "
            f"time {new['seconds'] / old['seconds']:.2f}"
        )


if __name__ == "__main__":
    main()
