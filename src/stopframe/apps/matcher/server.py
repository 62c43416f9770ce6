"""Run the matcher: the sync process (one writer) and the API workers (many readers).

`serve` starts `stopframe matcher sync --follow` as a child process with the same settings, then
uvicorn with `matcher_workers` processes, each mapping the published index generation. Settings
reach the children through STOPFRAME_* variables (the registry key too, never the command line).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading

import uvicorn

from stopframe.apps.matcher.metrics import MULTIPROC_ENV
from stopframe.apps.matcher.outbox import Outbox
from stopframe.apps.matcher.service import load_hooks
from stopframe.apps.matcher.sources import parse_partner_sources
from stopframe.apps.matcher.state import MatcherState, state_path
from stopframe.apps.matcher.sync import RegistrySource, Syncer
from stopframe.config import MatcherSettings, env_name
from stopframe.errors import ConfigError

log = logging.getLogger("stopframe.apps.matcher")


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
    return Syncer(settings.matcher_data_dir, registry, partners)


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


def child_environment(settings: MatcherSettings) -> dict[str, str]:
    """The environment that gives a child process these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            env[env_name(name)] = str(value)
    return env


def serve(settings: MatcherSettings) -> None:
    """Start the sync process and the API workers; stop both on SIGTERM/SIGINT."""
    make_syncer(settings).close()  # refuse bad sources before anything starts
    data_dir = settings.matcher_data_dir
    metrics_dir = data_dir / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = child_environment(settings)
    env[MULTIPROC_ENV] = str(metrics_dir)
    os.environ[MULTIPROC_ENV] = str(metrics_dir)
    os.environ.update({k: v for k, v in env.items() if k.startswith("STOPFRAME_")})
    sync = subprocess.Popen(
        [sys.executable, "-m", "stopframe", "matcher", "sync", "--follow"], env=env
    )
    try:
        uvicorn.run(
            "stopframe.apps.matcher.app:create_app_from_env",
            factory=True,
            host=settings.matcher_host,
            port=settings.matcher_port,
            workers=settings.matcher_workers,
            log_level="info",
            access_log=False,  # request lines say nothing useful and may carry content ids
            server_header=False,
        )
    finally:
        sync.terminate()
        try:
            sync.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sync.kill()
