"""Run the matcher: the sync process (one writer) and the API workers (many readers).

`serve` starts `stopframe matcher sync --follow` as a child process with the same settings, loads
the API code once, then forks `matcher_workers` uvicorn workers, each listening on the port with
SO_REUSEPORT (the kernel spreads connections over them); they
share the loaded code's memory and each maps the published index generation (shared page
cache). Settings reach the sync child through STOPFRAME_* variables (the registry key too, never
the command line).
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading

import uvicorn

from stopframe.apps.matcher.outbox import Outbox
from stopframe.apps.matcher.service import load_hooks
from stopframe.apps.matcher.sources import parse_partner_sources
from stopframe.apps.matcher.state import MatcherState, state_path
from stopframe.apps.matcher.sync import RegistrySource, Syncer
from stopframe.config import MatcherSettings, env_name
from stopframe.errors import ConfigError

log = logging.getLogger("stopframe.apps.matcher")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable


def registry_source(settings: MatcherSettings) -> RegistrySource | None:
    """The registry to follow, when one is configured (URL, key and pinned keys together)."""
    given = [settings.registry_url, settings.registry_key, settings.trust_file]
    if not any(given):
        return None
    if not all(given):
        raise ConfigError("a registry source needs --registry, --registry-key and --trust")
    assert settings.registry_url and settings.registry_key and settings.trust_file
    return RegistrySource.from_files(
        settings.registry_url, settings.registry_key, settings.trust_file
    )


def make_syncer(settings: MatcherSettings) -> Syncer:
    """The syncer of the configured sources; ConfigError when there are none."""
    registry = registry_source(settings)
    partners = parse_partner_sources(settings.matcher_sources)
    if registry is None and not partners:
        raise ConfigError("no list source: give --registry (with --registry-key, --trust) "
                          "or --source BANK=FORMAT:PATH")  # fmt: skip
    try:
        return Syncer(settings.matcher_data_dir, registry, partners, shard=settings.shard)
    except ValueError as exc:
        raise ConfigError(f"STOPFRAME_MATCHER_SHARD: {exc}") from None


def run_sync(settings: MatcherSettings, follow: bool) -> Syncer:
    """Sync every source once, or (`follow`) until SIGTERM/SIGINT, sending reports and webhooks
    on the side."""
    syncer = make_syncer(settings)
    if not follow:
        syncer.sync_once()
        syncer.close()
        return syncer
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=_stop_with_parent, args=(stop,), daemon=True).start()
    state = MatcherState.open(state_path(settings.matcher_data_dir))
    outbox = Outbox(state, syncer.client, load_hooks(settings.webhooks_file))
    sender = threading.Thread(target=outbox.run, args=(stop,), daemon=True)
    sender.start()
    try:
        syncer.run(stop, settings.sync_wait_s, settings.sync_interval_s)
    finally:
        stop.set()
        sender.join(timeout=5)
        outbox.close()
        state.close()
        syncer.close()
    return syncer


def _stop_with_parent(stop: threading.Event) -> None:
    """Stop when the process that started this one goes away (a `serve` killed with SIGKILL
    must not leave its sync process running)."""
    parent = os.getppid()
    while not stop.wait(1.0):
        if os.getppid() != parent:
            log.error("parent process %d is gone; stopping", parent)
            stop.set()


def child_environment(settings: MatcherSettings) -> dict[str, str]:
    """The environment that gives a child process these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            env[env_name(name)] = str(value)
    return env


def serve(settings: MatcherSettings) -> None:
    """Start the sync process and `matcher_workers` API workers forked from one parent that
    loaded the code first (so workers share its pages); restart a worker that dies; stop all on
    SIGTERM/SIGINT."""
    make_syncer(settings).close()  # refuse bad sources before anything starts
    metrics_dir = settings.matcher_data_dir / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(metrics_dir)  # before prometheus_client is first imported
    env = child_environment(settings)
    sync = subprocess.Popen(
        [sys.executable, "-m", "stopframe", "matcher", "sync", "--follow"], env=env
    )
    _listen(settings).close()  # the port is free (else OSError, before any worker starts)
    try:
        sync = _supervise(settings, sync)
    finally:
        sync.terminate()
        try:
            sync.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sync.kill()


def _listen(settings: MatcherSettings) -> socket.socket:
    """A listening socket of the matcher's address. Each worker opens its own with SO_REUSEPORT,
    so the kernel spreads new connections over the workers instead of one taking them all."""
    return socket.create_server(
        (settings.matcher_host, settings.matcher_port), backlog=2048, reuse_port=True
    )


def _supervise(settings: MatcherSettings, sync: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    """Fork the workers and keep them (and the sync process) running until told to stop;
    return the sync process now running, for the caller to stop."""
    import stopframe.apps.matcher.app  # noqa: F401  (load everything once, before forking)

    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    gc.collect()
    gc.freeze()  # keep the collector from touching (and so copying) the shared objects
    workers = {_fork_worker(settings) for _ in range(settings.matcher_workers)}
    log.info("matcher on %s:%d, %d workers", settings.matcher_host, settings.matcher_port,
             len(workers))  # fmt: skip
    while not stopping.wait(0.5):
        for pid in list(workers):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                workers.discard(pid)
                log.error("API worker %d exited (status %d); starting another", pid, status)
                workers.add(_fork_worker(settings))
        if sync.poll() is not None:
            log.error("sync process exited (%s); restarting it", sync.returncode)
            sync = subprocess.Popen(sync.args, env=child_environment(settings))
    for pid in workers:
        os.kill(pid, signal.SIGTERM)
    for pid in workers:
        os.waitpid(pid, 0)
    return sync


def _fork_worker(settings: MatcherSettings) -> int:
    """Fork one API worker serving on its own socket of the matcher's address; return its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        from stopframe.apps.matcher.app import create_app

        config = uvicorn.Config(
            create_app(settings),
            log_level="info",
            access_log=False,  # request lines say nothing useful and may carry content ids
            server_header=False,
            timeout_keep_alive=30,
        )
        uvicorn.Server(config).run(sockets=[_listen(settings)])
    except BaseException:
        log.exception("API worker failed")
        code = 1
    finally:
        os._exit(code)
