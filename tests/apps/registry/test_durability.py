"""Durability: a real server process is SIGKILLed during 1,000+ concurrent submissions; after a
restart every acknowledged entry is there, the feed has no gaps and the audit chain verifies."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.loopback import free_port

from stopframe.apps.registry import audit
from stopframe.apps.registry.db import open_database
from stopframe.apps.registry.models import Change, Entry
from stopframe.apps.registry.services import feed

SUBMISSIONS = 1200
CASES = 24
KILL_AFTER_ACKS = 500


def start_server(data_dir: Path, database_url: str, port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "STOPFRAME_DATA_DIR": str(data_dir),
        "STOPFRAME_DATABASE_URL": database_url,
        "STOPFRAME_PORT": str(port),
        "STOPFRAME_PIN_SCRYPT_N": "1024",
        "STOPFRAME_KEY_RATE": "100000",
        "STOPFRAME_KEY_BURST": "100000",
        "STOPFRAME_CASE_RATE": "100000",
        "STOPFRAME_CASE_BURST": "100000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "stopframe", "serve"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")


@pytest.mark.slow
def test_sigkill_during_concurrent_submissions_loses_nothing_acknowledged(
    registry, headers, database_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    data_dir = registry.settings.data_dir
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    server = start_server(data_dir, database_url, port, log)
    acked: dict[str, int] = {}
    lock = threading.Lock()
    killed = threading.Event()
    try:
        with httpx.Client(
            base_url=base, timeout=30, limits=httpx.Limits(max_connections=64)
        ) as http:
            cases = []
            for _ in range(CASES):
                body = http.post("/v1/cases", headers=headers["submit"]).json()
                cases.append(
                    (body["case_number"], {**headers["submit"], "X-Case-PIN": body["pin"]})
                )

            def submit(i: int) -> None:
                number, case = cases[i % CASES]
                value = hashlib.sha256(f"durability-{i}".encode()).hexdigest()
                try:
                    response = http.post(
                        f"/v1/cases/{number}/entries",
                        headers=case,
                        json={"signals": [{"kind": "sha256", "value": value}]},
                    )
                except httpx.HTTPError:
                    return  # not acknowledged: the server died under it
                if response.status_code == 201:
                    with lock:
                        acked[value] = response.json()["entries"][0]["id"]
                        if len(acked) >= KILL_AFTER_ACKS and not killed.is_set():
                            killed.set()
                            server.send_signal(signal.SIGKILL)

            with ThreadPoolExecutor(max_workers=32) as pool:
                list(pool.map(submit, range(SUBMISSIONS)))
        assert killed.is_set(), f"only {len(acked)} submissions were acknowledged"
        server.wait(timeout=30)
        assert server.returncode == -signal.SIGKILL
        acked_count = len(acked)
        assert KILL_AFTER_ACKS <= acked_count < SUBMISSIONS  # killed in the middle, not after

        server = start_server(data_dir, database_url, port, log)
        db = open_database(database_url)
        with db.read() as session:
            stored = dict(session.execute(select(Entry.value, Entry.id)).all())
            sequences = [
                s for (s,) in session.execute(select(Change.sequence).order_by(Change.sequence))
            ]
            last = feed.current_sequence(session)
            chain = audit.verify(session)
            entries = session.execute(select(func.count()).select_from(Entry)).scalar_one()
        db.dispose()
        missing = {v for v in acked if acked[v] != stored.get(v)}
        assert not missing, f"{len(missing)} acknowledged entries lost"
        assert sequences == list(range(1, last + 1)) and last == entries  # gap-free, all adds
        assert chain.ok, chain
        # the restarted server serves the same, and takes new work
        with httpx.Client(base_url=base, timeout=30) as http:
            number, case = cases[0]
            again = http.post(
                f"/v1/cases/{number}/entries",
                headers=case,
                json={"signals": [{"kind": "md5", "value": "ab" * 16}]},
            )
            assert again.status_code == 201
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
