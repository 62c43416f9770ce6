"""`stopframe demo`: the whole system on this machine, end to end, with nothing to configure.
Exit codes: 0 every stage saw what it must, 1 a stage failed (named on stderr), 2 missing parts."""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from stopframe.cli.extras import require_extra
from stopframe.demo import DemoOptions, DemoRun, run_demo

EXIT_FAILED = 1
EXIT_MISSING = 2


def _decisions(run: DemoRun) -> Table:
    table = Table(title="the platform's uploads", title_justify="left")
    for column in ("upload", "what it is", "decision", "closest match", "as expected"):
        table.add_column(column)
    for d in run.decisions:
        match = f"{d.kind} at {d.distance}" if d.kind else "-"
        table.add_row(d.upload.path.name, d.upload.what, d.decision, match,
                      "yes" if d.right else "NO")  # fmt: skip
    return table


def _items(run: DemoRun) -> Table:
    names = {item_id: name for name, item_id in run.items.items()}
    body = run.status
    table = Table(
        title=f"case {body['case_number']} as its holder sees it: matched {body['matched']}, "
        f"acted on {body['acted_on']}",
        title_justify="left",
    )
    for column in ("item", "file (on the victim's device only)", "kinds", "matched", "acted on"):
        table.add_column(column)
    for item in body["items"]:
        table.add_row(str(item["id"]), names.get(item["id"], "?"), ",".join(item["kinds"]),
                      str(item["matched"]), str(item["acted_on"]))  # fmt: skip
    return table


def _show(console: Console, run: DemoRun, started: float) -> None:
    """Everything the stages saw, then where to look next."""
    console.print(
        f"case {run.case_number} opened anonymously (proof of work); {len(run.items)} items "
        "registered: hashes only, no file left this machine"
    )
    console.print(_items(run))
    console.print(f"the case withdrew {run.withdrawn}: the matcher stopped blocking its copies "
                  f"{run.withdrawal_s:.1f} s later; the other items stay blocked")  # fmt: skip
    t = run.triage
    console.print(
        f"triage of the seized folder: {t['files']} files -> {t['distinct_images']} distinct "
        f"pictures, {t['distinct_videos']} distinct recordings; {t['known_groups']} known, "
        f"{t['new_groups']} new"
    )
    for group in run.known_groups:
        files = "1 file" if group["group_size"] == "1" else f"{group['group_size']} files"
        console.print(f"  known: {group['group_id']} ({files}, e.g. "
                      f"{Path(group['path']).name}) on {group['known_lists']}")  # fmt: skip
    work = run.options.work
    console.print(f"triage report: {work / 'triage-report' / 'report.html'}")
    console.print(f"logs: {run.logs}")
    console.print(f"[bold green]all stages passed[/] in {time.monotonic() - started:.1f} s")


def _show_kept(console: Console, run: DemoRun) -> None:
    """The addresses of the services left running, and how to stop them."""
    console.print("the services keep running:")
    console.print(f"  intake page      {run.registry_url}/")
    console.print(f"  registry API     {run.registry_url}/v1  (OpenAPI: /v1/openapi.json)")
    console.print(
        f"  matcher API      {run.matcher_url}/v1  (key in {run.options.work}/matcher-key)"
    )
    console.print(
        f"  the case         stopframe case status --case-file {run.options.work}/case.json"
    )
    pids = " ".join(str(-s.process.pid) for s in run.services.running)
    console.print(f"stop them with: kill -TERM -- {pids}")


def demo_command(
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the registry and matcher running at the end.")
    ] = False,
    work: Annotated[
        Path | None,
        typer.Option("--work", help="Work folder (new or empty); default: a new temporary one."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds a stage may wait for a service.")
    ] = 30.0,
) -> None:
    """Run the registry, a victim's case, a platform's matcher and triage end to end on loopback."""
    require_extra("registry", "stopframe demo")
    require_extra("matcher", "stopframe demo")
    if importlib.util.find_spec("av") is None:
        typer.echo("error: `stopframe demo` needs the video extra: pip install 'stopframe[video]'",
                   err=True)  # fmt: skip
        raise typer.Exit(EXIT_MISSING)
    if work is not None and work.exists() and any(work.iterdir()):
        typer.echo(f"error: {work} is not empty; give a new or empty --work folder", err=True)
        raise typer.Exit(EXIT_MISSING)
    folder = work or Path(tempfile.mkdtemp(prefix="stopframe-demo-"))
    console = Console(width=None if Console().is_terminal else 140, highlight=False)
    console.print(f"stopframe demo in {folder} (SQLite, loopback only)")
    started = time.monotonic()

    def on_stage(name: str, state: str) -> None:
        if state != "start":
            console.print(f"  {name}: {state}")

    run = run_demo(DemoOptions(folder, keep=keep, stage_timeout_s=timeout), on_stage)
    if run.decisions:
        console.print(_decisions(run))
    if run.failure is not None:
        Console(stderr=True, highlight=False).print(f"[bold red]demo failed[/] {run.failure}",
                                                    soft_wrap=True)  # fmt: skip
        console.print(f"work folder and logs: {folder}")
        raise typer.Exit(EXIT_FAILED)
    _show(console, run, started)
    if keep:
        (folder / "matcher-key").write_text(run.matcher_key + "\n", encoding="utf-8")
        (folder / "matcher-key").chmod(0o600)
        _show_kept(console, run)
