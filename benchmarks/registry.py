"""Registry benchmark: submissions per second, signed snapshot export of 1M entries, and the
latency from a submission to a polling consumer seeing it (goal: <= 10 s).

    PYTHONPATH=src python benchmarks/registry.py                      # SQLite in a temp dir
    PYTHONPATH=src python benchmarks/registry.py --database-url postgresql+psycopg://...

It starts a real `stopframe serve` process on 127.0.0.1 and talks to it over HTTP.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

from stopframe.apps.registry.models import Entry
from stopframe.apps.registry.services import banks, keys
from stopframe.apps.registry.services.transfer import import_signals
from stopframe.apps.registry.state import open_registry
from stopframe.apps.registry.terms import Scope
from stopframe.config import RegistrySettings as Settings
from stopframe.lists.client import RegistryClient
from stopframe.lists.store import ListStore
from stopframe.signals import PDQ, Signal

GOAL_FEED_LATENCY_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "stopframe", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def bench_submissions(
    base: str, submit: dict[str, str], count: int, threads: int, batch: int
) -> float:
    """Hashes acknowledged per second, `batch` hashes per request from `threads` threads."""
    with httpx.Client(
        base_url=base, timeout=60, limits=httpx.Limits(max_connections=threads)
    ) as http:
        cases = []
        for _ in range(threads):
            body = http.post("/v1/cases", headers=submit).json()
            cases.append((body["case_number"], {**submit, "X-Case-PIN": body["pin"]}))

        def one(i: int) -> None:
            number, case = cases[i % threads]
            signals = [
                {"kind": "sha256", "value": sha(f"sub-{batch}-{i}-{j}")} for j in range(batch)
            ]
            response = http.post(
                f"/v1/cases/{number}/entries", headers=case, json={"signals": signals}
            )
            assert response.status_code == 201, response.text

        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(count // batch)))
        return count / (time.perf_counter() - started)


def bench_feed_latency(
    base: str,
    submit: dict[str, str],
    read_key: str,
    pinned: dict[str, str],
    poll_s: float,
    rounds: int,
    store_path: Path,
) -> list[float]:
    """Seconds from a submission's acknowledgement to a consumer, polling every `poll_s`,
    holding it."""
    store = ListStore.open(store_path)
    seen: dict[str, float] = {}
    stop = threading.Event()
    client = RegistryClient(base, read_key, pinned)
    client.sync(store)

    def poll() -> None:
        while not stop.is_set():
            client.sync(store)
            now = time.perf_counter()
            for entry in store.entries(kind="sha256"):
                seen.setdefault(entry.value, now)
            stop.wait(poll_s)

    poller = threading.Thread(target=poll)
    poller.start()
    latencies = []
    with httpx.Client(base_url=base, timeout=60) as http:
        body = http.post("/v1/cases", headers=submit).json()
        number, case = body["case_number"], {**submit, "X-Case-PIN": body["pin"]}
        for i in range(rounds):
            value = sha(f"latency-{i}-{time.time()}")
            response = http.post(
                f"/v1/cases/{number}/entries",
                headers=case,
                json={"signals": [{"kind": "sha256", "value": value}]},
            )
            acked = time.perf_counter()
            assert response.status_code == 201
            while value not in seen:
                time.sleep(0.01)
            latencies.append(seen[value] - acked)
            time.sleep(poll_s * 0.37)  # land at different points of the polling cycle
    stop.set()
    poller.join()
    client.close()
    store.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--entries", type=int, default=1_000_000, help="snapshot size")
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--poll", type=float, default=2.0, help="consumer polling interval, s")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        url = args.database_url or f"sqlite:///{data_dir / 'registry.sqlite'}"
        settings = Settings(
            data_dir=data_dir,
            database_url=url,
            key_rate=1e6,
            key_burst=10**6,
            case_rate=1e6,
            case_burst=10**6,
        )
        reg = open_registry(settings)
        with reg.db.write() as session:
            submit_key = keys.create_key(session, "bench", [Scope.SUBMIT], "bench").key
            read_key = keys.create_key(session, "bench", [Scope.READ], "bench").key
        pinned = {k["key_id"]: k["public_key"] for k in reg.keyring.published()}
        port = free_port()
        env = {
            **os.environ,
            "STOPFRAME_DATA_DIR": str(data_dir),
            "STOPFRAME_DATABASE_URL": url,
            "STOPFRAME_PORT": str(port),
            "STOPFRAME_KEY_RATE": "1000000",
            "STOPFRAME_KEY_BURST": "1000000",
            "STOPFRAME_CASE_RATE": "1000000",
            "STOPFRAME_CASE_BURST": "1000000",
        }
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        submit = {"Authorization": f"Bearer {submit_key}"}
        backend = reg.db.writer.dialect.name
        print(f"registry benchmark on {backend}, {os.cpu_count()} CPUs")
        try:
            single = bench_submissions(base, submit, args.submissions, args.threads, 1)
            print(
                f"submissions, 1 hash per request, {args.threads} threads: {single:,.0f} hashes/s"
            )
            batched = bench_submissions(base, submit, args.submissions * 50, args.threads, 100)
            print(
                f"submissions, 100 hashes per request, {args.threads} threads: "
                f"{batched:,.0f} hashes/s"
            )

            latencies = bench_feed_latency(
                base, submit, read_key, pinned, args.poll, 20, Path(tmp) / "latency.sqlite"
            )
            worst = max(latencies)
            print(
                f"feed latency (poll every {args.poll:g} s), 20 rounds: median "
                f"{statistics.median(latencies):.2f} s, max {worst:.2f} s; "
                f"goal {GOAL_FEED_LATENCY_S:g} s -> max/goal = {worst / GOAL_FEED_LATENCY_S:.2f} "
                f"({'met' if worst <= GOAL_FEED_LATENCY_S else 'NOT met'})"
            )

            with reg.db.read() as session:
                present = session.execute(select(func.count()).select_from(Entry)).scalar_one()
            missing = max(0, args.entries - present)  # top up to --entries in all
            started = time.perf_counter()
            with reg.db.write() as session:
                bank = banks.create_bank(session, "bulk", [PDQ.name], "bench")
                step = 100_000
                for start in range(0, missing, step):
                    signals = [
                        Signal(PDQ.name, sha(f"bulk-{i}"), 90)
                        for i in range(start, min(missing, start + step))
                    ]
                    import_signals(session, bank, signals, "bench", "benchmark")
            print(
                f"bulk load of {missing:,} entries (one transaction): "
                f"{time.perf_counter() - started:.1f} s"
            )

            with httpx.Client(
                base_url=base, timeout=600, headers={"Authorization": f"Bearer {read_key}"}
            ) as http:
                started = time.perf_counter()
                size, after, more = 0, 0, True
                while more:  # the export alone: every signed page, as a consumer fetches them
                    response = http.get("/v1/lists/snapshot", params={"after_id": after})
                    assert response.status_code == 200
                    size += len(response.content)
                    page = response.json()["payload"]
                    after = page["entries"][-1]["id"] if page["entries"] else after
                    more = page["more"]
                fetched = time.perf_counter() - started
            started = time.perf_counter()
            with (
                RegistryClient(base, read_key, pinned) as client,
                ListStore.open(Path(tmp) / "snapshot.sqlite") as store,
            ):
                client.snapshot(store)  # fetch, verify and store page by page, then replay
                held = store.count()
            checked = time.perf_counter() - started
            print(
                f"signed snapshot of {held:,} entries (paged): export+transfer {fetched:.1f} s, "
                f"{size / 1e6:.0f} MB ({size / max(1, held):.0f} B/entry); "
                f"consumer fetch+verify+store {checked:.1f} s"
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
            reg.db.dispose()


if __name__ == "__main__":
    main()
