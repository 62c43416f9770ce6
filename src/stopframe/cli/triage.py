"""`stopframe triage DIR...`: how many distinct pictures and recordings a collection holds,
which are copies of which, and which are on a list. Exit codes: 0 every file read, 1 some file
could not be read (listed in the report), 2 usage error (bad option, list or output folder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stopframe.apps.matcher.sources import parse_partner_source
from stopframe.cli.progress import hashing_bar
from stopframe.errors import StopframeError
from stopframe.triage import TriageOptions, run_triage
from stopframe.triage.report import summary_line, write_reports

EXIT_OK = 0
EXIT_SOME_UNREADABLE = 1
EXIT_USAGE = 2


def triage_command(
    paths: Annotated[list[Path], typer.Argument(help="Folders (or files) of the collection.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write groups.csv, files.csv, vics.json, summary.json and "
            "report.html here (outside the collection).",
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 1,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="Hash cache file (default ~/.cache/stopframe/"
            "triage-cache.sqlite3); a second run over the same files reads it.",
        ),
    ] = None,
    stores: Annotated[
        list[Path] | None,
        typer.Option(
            "--store",
            help="A list store (.sqlite) or a matcher's data folder to check against; repeatable.",
        ),
    ] = None,
    lists: Annotated[
        list[str] | None,
        typer.Option(
            "--list",
            help="Partner list BANK=FORMAT:PATH (projectvic-json, ncmec-xml, "
            "threatexchange-csv, ...); repeatable.",
        ),
    ] = None,
    thumbnails: Annotated[
        bool, typer.Option("--thumbnails", help="Put small previews in the HTML report.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print summary.json instead of the summary line.")
    ] = False,
    video_crops: Annotated[
        bool,
        typer.Option(
            "--video-crops",
            help="Also group videos cropped 5-10 % with their recording (about half are "
            "found): nine more hashes per frame, about 30 % more time on videos and four "
            "times their cache.",
        ),
    ] = False,
) -> None:
    """Group a collection into distinct pictures and recordings and check them against lists."""
    stderr = Console(stderr=True)
    try:
        partners = [parse_partner_source(item) for item in lists or []]
        with hashing_bar(stderr) as progress:
            options = TriageOptions(
                jobs, cache, tuple(stores or ()), tuple(partners), progress, video_crops
            )
            if out is not None:
                from stopframe.triage.run import check_outside

                check_outside(paths, [out])
            result = run_triage(paths, options)
        if out is not None:
            write_reports(result, out, thumbnails=thumbnails)
    except StopframeError as exc:
        stderr.print(f"[red]error[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    if as_json:
        typer.echo(json.dumps(result.summary(), indent=1))
    else:
        typer.echo(summary_line(result))
        if out is not None:
            typer.echo(f"report: {out / 'report.html'}")
    for item in result.files:
        if item.status == "error":
            stderr.print(f"[yellow]unreadable[/] {item.path}: {item.error}", highlight=False,
                         soft_wrap=True)  # fmt: skip
    errors = sum(1 for f in result.files if f.status == "error")
    raise typer.Exit(EXIT_SOME_UNREADABLE if errors else EXIT_OK)
