"""`stopframe scan PATH... --out DIR`: hash and match a large collection in resumable shards,
on a local process pool or Ray, one Parquet row per file. Exit codes: 0 every shard finished,
1 some shard failed every attempt (run again to resume), 2 usage error or missing extra."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stopframe.cli.progress import hashing_bar
from stopframe.errors import StopframeError

EXIT_OK = 0
EXIT_UNFINISHED = 1
EXIT_USAGE = 2


def _require(module: str, extra: str) -> None:
    """Stop with one line naming the extra to install when `module` is missing."""
    if importlib.util.find_spec(module) is None:
        typer.echo(
            f"error: `scan` needs the {extra} extra ({module} is not installed): "
            f"pip install 'stopframe[{extra}]'",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)


def scan_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Folders (or files) to scan.", show_default=False)
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Scan folder: shards/*.parquet, state.sqlite, summary.json (resumable)."
        ),
    ] = Path("scan-out"),
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="A file of paths to scan, one a line.")
    ] = None,
    stores: Annotated[
        list[Path] | None,
        typer.Option(
            "--store",
            help="A list store (.sqlite) or a matcher's data folder to match against; repeatable.",
        ),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Local policy JSON (bank overrides).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Workers (processes).")] = 1,
    shard_files: Annotated[int, typer.Option("--shard-files", min=1, help="Files a shard.")] = 500,
    ray: Annotated[
        str | None,
        typer.Option("--ray", help="Run on Ray: 'auto' (RAY_ADDRESS or a local Ray) or ADDRESS."),
    ] = None,
    attempts: Annotated[int, typer.Option("--attempts", min=1, help="Tries per shard.")] = 3,
    file_timeout: Annotated[
        float, typer.Option("--file-timeout", min=0, help="Seconds per file (0: none).")
    ] = 60.0,
    restart: Annotated[
        bool, typer.Option("--restart", help="Forget the scan in --out and start over.")
    ] = False,
) -> None:
    """Hash and match many files in resumable shards, one Parquet row per file."""
    _require("pyarrow", "scan")
    if ray is not None:
        _require("ray", "ray")
    from stopframe.scan import ScanOptions, run_scan
    from stopframe.scan.manifest import read_path_list

    stderr = Console(stderr=True)
    inputs: list[str | Path] = list(paths or [])
    try:
        if from_file is not None:
            inputs += read_path_list(from_file)
        if not inputs:
            raise typer.BadParameter("give folders or files to scan, or --from-file")
        with hashing_bar(stderr) as progress:
            options = ScanOptions(
                jobs=jobs,
                shard_files=shard_files,
                stores=tuple(stores or ()),
                policy=policy,
                ray=ray,
                attempts=attempts,
                file_timeout_s=file_timeout,
                restart=restart,
                progress=progress,
            )
            summary = run_scan(inputs, out, options)
    except (StopframeError, OSError) as exc:
        stderr.print(f"[red]error[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    typer.echo(json.dumps(summary.to_dict(), indent=1))
    raise typer.Exit(EXIT_OK if summary.complete else EXIT_UNFINISHED)
