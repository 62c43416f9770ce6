"""`stopframe matcher serve` as an operator runs it: pre-forked API workers that share one index
generation, a worker killed mid-traffic replaced while the others keep answering, and a sync
process killed with SIGKILL restarted and resuming."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from tests.loopback import free_port

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "stopframe", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait(check, seconds: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_killed_workers_and_sync_process_are_replaced(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(200)]
    listed = tmp_path / "list.txt"
    listed.write_text("".join(f"pdq {v}\n" for v in values))
    data = tmp_path / "matcher"
    port = free_port()
    env = dict(os.environ, STOPFRAME_SYNC_INTERVAL_S="0.5", STOPFRAME_MATCHER_DATA_DIR=str(data))
    key = _run(["matcher", "create-key", "--scope", "match"], env).strip()
    serve = subprocess.Popen(
        [sys.executable, "-m", "stopframe", "matcher", "serve", "--source",
         f"bank=threatexchange-text:{listed}", "--workers", "2", "--port", str(port)],
        env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {key}"}

    def matched(value: str) -> bool:
        body = {"signals": [{"kind": "pdq", "value": value}]}
        answer = httpx.post(f"{url}/v1/match/hashes", json=body, headers=auth, timeout=10)
        return answer.status_code == 200 and bool(answer.json()["results"][0]["matches"])

    try:
        _wait(lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 200, 60)
        _wait(lambda: all(matched(values[0]) for _ in range(4)), 5)  # every worker switched
        children = _children(serve.pid)
        workers = [p for p in children if "matcher sync" not in _cmdline(p)]
        (sync,) = [p for p in children if "matcher sync" in _cmdline(p)]
        assert len(workers) == 2

        os.kill(workers[0], signal.SIGKILL)
        answered = sum(matched(values[i]) for i in range(20))  # the other worker answers
        assert answered == 20
        _wait(lambda: len([p for p in _children(serve.pid) if p not in (sync,)]) == 2, 15)
        assert workers[0] not in _children(serve.pid)

        os.kill(sync, signal.SIGKILL)
        _wait(lambda: any("matcher sync" in _cmdline(p) for p in _children(serve.pid)), 15)
        extra = bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex()
        with listed.open("a") as handle:
            handle.write(f"pdq {extra}\n")
        _wait(lambda: matched(extra), 30)  # the restarted sync process picked up the change
        survivors = _children(serve.pid)
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            raise
    assert serve.returncode is not None
    time.sleep(0.5)
    assert [p for p in survivors if Path(f"/proc/{p}").exists() and _cmdline(p)] == []
