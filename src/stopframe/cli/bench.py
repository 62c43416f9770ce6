"""`stopframe bench ...`: the robustness and triage benchmarks (robust matching itself is
`stopframe hash --robust` and `stopframe match-images`; triage is `stopframe triage`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

bench_app = typer.Typer(help="Benchmarks of matching accuracy and triage.", no_args_is_help=True)


@bench_app.command("robustness")
def robustness(
    corpus: Annotated[
        Path | None,
        typer.Option(help="Corpus folder (images/, images_astro/); default $STOPFRAME_CORPUS."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for robustness.json/.md and PNG plots.")] = Path(
        "bench-out"
    ),
    seed: Annotated[int, typer.Option(help="Seed for image choice and transform randomness.")] = 0,
    per_transform: Annotated[int, typer.Option(help="Originals edited per transform.")] = 50,
    max_side: Annotated[int, typer.Option(help="Originals are shrunk to this long side.")] = 640,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    transform: Annotated[
        list[str] | None, typer.Option(help="Run only these transforms (repeatable).")
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            help="Hash cache; default $STOPFRAME_BENCH_CACHE or ~/.cache/stopframe/bench."
        ),
    ] = None,
) -> None:
    """Measure recall at precision >= 99.9 % / 99.99 % per transform for every method."""
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from stopframe.bench.cache import default_cache_dir
    from stopframe.bench.corpus import CorpusMissingError, default_corpus_dir
    from stopframe.bench.robustness import run_and_report
    from stopframe.bench.runner import Config

    config = Config(
        corpus or default_corpus_dir(),
        cache_dir or default_cache_dir(),
        seed,
        per_transform,
        max_side,
        workers,
        list(transform or []),
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done)

        try:
            summary = run_and_report(config, out, progress)
        except (CorpusMissingError, ValueError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from error
    typer.echo((out / "robustness.md").read_text())
    typer.echo(f"done in {summary['seconds']} s; files in {out}")


@bench_app.command("triage")
def triage(
    corpus: Annotated[
        Path | None,
        typer.Option(help="Corpus folder (images/, videos/); default $STOPFRAME_CORPUS."),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Folder for the collection, truth.json, triage.json/.md.")
    ] = Path("bench-out/triage"),
    pictures: Annotated[int, typer.Option(min=1, help="Distinct original photos.")] = 400,
    videos: Annotated[int, typer.Option(min=0, help="Distinct recordings.")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the collection.")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 2,
    clips: Annotated[
        Path | None,
        typer.Option(help="Real clips to use as recordings first; default <corpus>/videos."),
    ] = None,
    grouping: Annotated[
        int, typer.Option(min=0, help="Also time grouping alone on this many hashed pictures.")
    ] = 0,
    imagededup: Annotated[
        bool, typer.Option(help="Run imagededup too (when it is installed).")
    ] = True,
    collection: Annotated[
        bool, typer.Option(help="Build and score the collection (off: only --grouping).")
    ] = True,
) -> None:
    """Score triage against a synthetic seized collection with known ground truth, beside plain
    PDQ and imagededup."""
    from stopframe.bench.corpus import CorpusMissingError, default_corpus_dir
    from stopframe.bench.triage import TriageBenchConfig, run_benchmark

    config = TriageBenchConfig(
        corpus or default_corpus_dir(),
        out,
        pictures,
        videos,
        seed,
        jobs,
        clips,
        grouping,
        imagededup,
        collection,
    )
    try:
        run_benchmark(config, typer.echo)
    except (CorpusMissingError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
