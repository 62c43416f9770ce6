"""The demo's child processes: each `stopframe` command runs as its own process with a clean
environment (no inherited `STOPFRAME_*` setting) and its output in a log file, and every
service is stopped, with all its workers, when the demo ends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from stopframe.errors import StopframeError

STOP_WAIT_S = 15.0


class StageFailed(StopframeError):
    """A demo stage did not do what it must; names the stage."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"stage '{stage}' failed: {message}")
        self.stage = stage


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without its `STOPFRAME_*` settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOPFRAME_")}
    env.update(settings)
    return env


def stopframe_command(*args: str) -> list[str]:
    """The command line of `stopframe ARGS` with this interpreter."""
    return [sys.executable, "-m", "stopframe", *args]


def run_command(stage: str, args: list[str], env: Mapping[str, str], log: Path) -> str:
    """Run `stopframe ARGS` to its end; its stdout, or StageFailed with the end of its log."""
    with log.open("ab") as errors:
        done = subprocess.run(
            stopframe_command(*args), env=dict(env), stdout=subprocess.PIPE, stderr=errors
        )
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        raise StageFailed(
            stage, f"`stopframe {args[0]} {args[1] if len(args) > 1 else ''}` exited "
            f"{done.returncode}: {' / '.join(tail) or 'no output'} (log {log})",
        )  # fmt: skip
    return done.stdout.decode("utf-8")


@dataclass
class Service:
    """A running `stopframe` service: its process group, address and log."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM to its process group (the service and its workers), SIGKILL if it lingers."""
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Services:
    """The services the demo started, in order; stops them in reverse."""

    running: list[Service] = field(default_factory=list)

    def start(
        self, name: str, args: list[str], env: Mapping[str, str], url: str, log: Path
    ) -> Service:
        """Start `stopframe ARGS` in its own process group, its output going to `log`."""
        with log.open("ab") as output:
            process = subprocess.Popen(
                stopframe_command(*args),
                env=dict(env),
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        service = Service(name, process, url, log)
        self.running.append(service)
        return service

    def stop_all(self) -> None:
        """Stop every service this demo started."""
        for service in reversed(self.running):
            service.stop()
        self.running.clear()


def wait_until(
    stage: str,
    what: str,
    check: Callable[[], bool],
    timeout_s: float,
    service: Service | None = None,
    why: Callable[[], str] | None = None,
) -> float:
    """Poll `check` until it holds; seconds taken, or StageFailed saying what never happened
    (and why, when `why` can tell) or that `service` died."""
    started = time.monotonic()
    while True:
        if service is not None and not service.alive():
            raise StageFailed(
                stage,
                f"{service.name} exited with {service.process.returncode} (log {service.log})",
            )
        try:
            if check():
                return time.monotonic() - started
        except httpx.HTTPError:
            pass  # not listening yet
        if time.monotonic() - started > timeout_s:
            reason = f": {why()}" if why is not None else ""
            raise StageFailed(stage, f"{what} within {timeout_s:.0f} s{reason}")
        time.sleep(0.1)
