"""`stopframe matcher ...` (run and operate the platform matcher) and `stopframe match` (match
files against a matcher's lists offline, for batch jobs).

Exit codes of `stopframe match`: 0 nothing matched, 1 some file matched (its decision is in the
output), 2 usage error (a store with no synced lists too), 3 no match but some file could not be
hashed.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer

from stopframe.cli.extras import require_extra
from stopframe.cli.settings import command_settings
from stopframe.config import MatcherSettings
from stopframe.errors import ConfigError, ServiceError, StopframeError

matcher_app = typer.Typer(
    help="Run the platform matcher: sync signed lists, match uploads, act.",
    no_args_is_help=True,
)
EXIT_MATCHED = 1
EXIT_USAGE = 2
EXIT_UNHASHED = 3
_SYNC_FIRST = "sync it first: stopframe matcher sync --source BANK=FORMAT:PATH --data-dir DIR"

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Default: $STOPFRAME_MATCHER_DATA_DIR or ./matcher-data"),
]
Registry = Annotated[str | None, typer.Option("--registry", help="Registry URL to follow.")]
RegistryKey = Annotated[
    str | None,
    typer.Option("--registry-key", help="Registry API key (or $STOPFRAME_REGISTRY_KEY)."),
]
Trust = Annotated[
    Path | None,
    typer.Option("--trust", help="JSON {key_id: base64 public key} of the registry's keys."),
]
Sources = Annotated[
    list[str] | None,
    typer.Option("--source", help="Partner list BANK=FORMAT:PATH (file or folder); repeatable."),
]
PolicyFile = Annotated[Path | None, typer.Option("--policy", help="Local bank policy (JSON).")]
Shard = Annotated[
    str | None, typer.Option("--shard", help="k/K: hold one shard of K (entries id % K == k).")
]
Webhooks = Annotated[
    Path | None, typer.Option("--webhooks", help="Webhooks JSON: [{url, secret, decisions}].")
]


def _settings(**given: object) -> MatcherSettings:
    """The matcher section of the settings, with what the command line gave in place."""
    settings = command_settings().matcher
    sources = given.pop("matcher_sources", None)
    if isinstance(sources, list) and sources:
        given["matcher_sources"] = ";".join(str(s) for s in sources)
    try:
        return settings.model_copy(update={k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _usage(exc: StopframeError | OSError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(EXIT_USAGE)


@matcher_app.command("create-key")
def create_key(
    scope: Annotated[list[str], typer.Option("--scope", help="match and/or admin")],
    name: Annotated[str, typer.Option(help="Who the key is for.")] = "platform",
    data_dir: DataDir = None,
) -> None:
    """Create a matcher API key and print it (shown once; only its hash is kept)."""
    from stopframe.apps.matcher.keys import create_key as create
    from stopframe.apps.matcher.state import MatcherState, state_path

    settings = _settings(matcher_data_dir=data_dir)
    try:
        settings.matcher_data_dir.mkdir(parents=True, exist_ok=True)
        state = MatcherState.open(state_path(settings.matcher_data_dir))
    except (ConfigError, OSError) as exc:  # a data dir that is a file, or not writable
        raise _usage(exc) from None
    with state:
        try:
            typer.echo(create(state, scope, name))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None


@matcher_app.command()
def sync(
    registry: Registry = None,
    registry_key: RegistryKey = None,
    trust: Trust = None,
    source: Sources = None,
    shard: Shard = None,
    data_dir: DataDir = None,
    follow: Annotated[bool, typer.Option(help="Keep syncing until stopped.")] = False,
    webhooks: Webhooks = None,
) -> None:
    """Bring the list stores and the index set up to date from every source (once, or
    `--follow`); prints each source's state as JSON."""
    from stopframe.apps.matcher.server import run_sync

    settings = _settings(
        registry_url=registry, registry_key=registry_key, trust_file=trust,
        matcher_sources=source, matcher_data_dir=data_dir, webhooks_file=webhooks,
        matcher_shard=shard,
    )  # fmt: skip
    try:
        syncer = run_sync(settings, follow)
    except (ConfigError, OSError) as exc:  # OSError: a data dir that cannot be made
        raise _usage(exc) from None
    report = {
        name: {"sequence": s.sequence, "entries": s.entries, "error": s.last_error}
        for name, s in syncer.status.sources.items()
    }
    typer.echo(json.dumps({"generation": syncer.writer.generation, "sources": report}, indent=1))
    if any(s.last_error for s in syncer.status.sources.values()):
        raise typer.Exit(1)


@matcher_app.command()
def serve(
    registry: Registry = None,
    registry_key: RegistryKey = None,
    trust: Trust = None,
    source: Sources = None,
    shard: Shard = None,
    data_dir: DataDir = None,
    policy: PolicyFile = None,
    webhooks: Webhooks = None,
    host: Annotated[str | None, typer.Option(help="Default 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default 8760")] = None,
    workers: Annotated[int | None, typer.Option(help="API worker processes (default 1)")] = None,
) -> None:
    """Run the sync process and the match API (workers share one memory-mapped index)."""
    require_extra("matcher", "stopframe matcher serve")
    from stopframe.apps.matcher.server import serve as run

    settings = _settings(
        registry_url=registry, registry_key=registry_key, trust_file=trust,
        matcher_sources=source, matcher_data_dir=data_dir, policy_file=policy,
        webhooks_file=webhooks, matcher_host=host, matcher_port=port, matcher_workers=workers,
        matcher_shard=shard,
    )  # fmt: skip
    try:
        run(settings)
    except (ConfigError, OSError) as exc:  # OSError: the data dir, or the port is taken
        raise _usage(exc) from None


class MatchFormat:
    """Output formats of `stopframe match`."""

    CHOICES = ("jsonl", "csv")


def match_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to match.")],
    store: Annotated[
        Path | None, typer.Option("--store", help="A matcher data dir (synced lists).")
    ] = None,
    policy: PolicyFile = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    jobs: Annotated[int | None, typer.Option(help="Hashing processes.")] = None,
) -> None:
    """Match files against a matcher's synced lists, offline: one decision per file."""
    from stopframe.apps.matcher.service import MatchService
    from stopframe.hashing.batch import hash_paths, iter_files
    from stopframe.hashing.files import HashOptions, with_limits

    if fmt not in MatchFormat.CHOICES:
        raise typer.BadParameter(f"--format must be one of {', '.join(MatchFormat.CHOICES)}")
    full = command_settings()
    settings = _settings(matcher_data_dir=store, policy_file=policy)
    options = with_limits(HashOptions(skip_unrecognised=True), full)
    data_dir = settings.matcher_data_dir
    if not data_dir.is_dir():  # checked first: the service would create an empty one
        raise _usage(ConfigError(f"{data_dir}: no matcher data here; {_SYNC_FIRST}"))
    try:
        service = MatchService(settings, hooks=[], options=options, record=False)
    except StopframeError as exc:
        raise _usage(exc) from None
    if not service.index_set.ready:  # else every file would fail alike, one line each
        service.close()
        why = service.index_set.last_error or "no lists loaded"
        raise _usage(ConfigError(f"{data_dir}: {why}; {_SYNC_FIRST}"))
    files = list(iter_files(paths))
    writer = _MatchWriter(sys.stdout, fmt)
    matched = unhashed = False
    try:
        for record in hash_paths(files, options, jobs or full.hashing.jobs):
            path = record.path
            try:
                outcome = service.match_record(record, Path(path))
            except ServiceError as exc:
                unhashed = unhashed or record.status != "skipped"
                writer.write(path, "error", [], exc.detail)
                continue
            matched = matched or bool(outcome.matches)
            writer.write(path, outcome.decision.value, [m.to_dict() for m in outcome.matches])
    finally:
        service.close()
    if matched:
        raise typer.Exit(EXIT_MATCHED)
    if unhashed:
        raise typer.Exit(EXIT_UNHASHED)


class _MatchWriter:
    """One line per file: JSON (decision and matches) or CSV (decision and entry keys)."""

    def __init__(self, out: TextIO, fmt: str) -> None:
        self.out = out
        self.csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        if self.csv is not None:
            self.csv.writerow(["path", "decision", "entries", "error"])

    def write(
        self, path: str, decision: str, matches: list[dict[str, object]], error: str | None = None
    ) -> None:
        if self.csv is not None:
            keys = " ".join(f"{m['source']}:{m['entry_id']}" for m in matches)
            self.csv.writerow([path, decision, keys, error or ""])
        else:
            row = {"path": path, "decision": decision, "matches": matches, "error": error}
            self.out.write(json.dumps(row, separators=(",", ":")) + "\n")
        self.out.flush()
