"""`stopframe bench ...`: run the robustness benchmark, and compute or compare robust hash sets
of local pictures (the robust matching of stopframe.signals.pdq_robust, from the command line)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from stopframe.cli import app

bench_app = typer.Typer(help="Benchmarks and robust matching tools.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

_MAX_SIDE = 2048  # pictures are shrunk to this long side before hashing (PDQ works at 64 x 64)


@bench_app.command("robustness")
def robustness(
    corpus: Annotated[Optional[Path], typer.Option(
        envvar="STOPFRAME_CORPUS", help="Corpus folder (images/, images_astro/).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for robustness.json/.md and PNG plots.")] =
        Path("bench-out"),
    seed: Annotated[int, typer.Option(help="Seed for image choice and transform randomness.")] = 0,
    per_transform: Annotated[int, typer.Option(help="Originals edited per transform.")] = 50,
    max_side: Annotated[int, typer.Option(help="Originals are shrunk to this long side.")] = 640,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    transform: Annotated[Optional[list[str]], typer.Option(
        help="Run only these transforms (repeatable).")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(
        envvar="STOPFRAME_BENCH_CACHE", help="Hash cache (default ~/.cache/stopframe/bench).")] = None,
) -> None:
    """Measure recall at precision >= 99.9 % / 99.99 % per transform for every method."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from stopframe.bench.cache import default_cache_dir
    from stopframe.bench.corpus import CorpusMissingError, default_corpus_dir
    from stopframe.bench.robustness import run_and_report
    from stopframe.bench.runner import Config

    config = Config(corpus or default_corpus_dir(), cache_dir or default_cache_dir(), seed,
                    per_transform, max_side, workers, list(transform or []))
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total}"), TimeElapsedColumn(), transient=False) as bar:
        tasks: dict[str, int] = {}

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


def _load(path: Path):
    from stopframe.bench.images import as_array, load_rgb

    return as_array(load_rgb(path, _MAX_SIDE))


@bench_app.command("robust-hashes")
def robust_hashes(
    files: Annotated[list[Path], typer.Argument(help="Pictures to hash.")],
    query: Annotated[bool, typer.Option("--query", help="Query-side hashes instead of the "
                                        "registration set.")] = False,
) -> None:
    """Print each picture's robust hash set as one JSON line (hashes only, never pixels)."""
    from stopframe.signals.pdq_robust import query_hashes, register_hashes

    failed = 0
    for path in files:
        try:
            items = (query_hashes if query else register_hashes)(_load(path))
        except Exception as error:  # noqa: BLE001  one bad file never stops the batch
            typer.echo(f"error: {path}: cannot hash: {error}", err=True)
            failed += 1
            continue
        sys.stdout.write(json.dumps({"file": str(path), "role": "query" if query else "register",
                                     "hashes": [{"pdq": i.hash.hex, "quality": i.hash.quality,
                                                 "variant": i.variant} for i in items]}) + "\n")
    if failed:
        raise typer.Exit(1)


@bench_app.command("robust-match")
def robust_match(
    registered: Annotated[Path, typer.Option(help="JSON lines written by `robust-hashes`.")],
    files: Annotated[list[Path], typer.Argument(help="Pictures to check.")],
    threshold: Annotated[Optional[int], typer.Option(help="Match distance (default: the "
                                                     "measured operating point).")] = None,
) -> None:
    """For each picture, print the registered entries it matches (JSON lines) at the operating point."""
    from stopframe.signals.pdq import PdqHash, hex_to_digest
    from stopframe.signals.pdq_robust import RobustHash, query_hashes
    from stopframe.matching.robust import MATCH_DISTANCE, match_score

    limit = MATCH_DISTANCE if threshold is None else threshold
    entries = []
    for number, line in enumerate(registered.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            hashes = [RobustHash(PdqHash(hex_to_digest(h["pdq"]), int(h["quality"])),
                                 str(h.get("variant", ""))) for h in record["hashes"]]
        except (ValueError, KeyError, TypeError) as error:
            typer.echo(f"error: {registered}:{number}: not a robust hash line: {error}", err=True)
            raise typer.Exit(2) from error
        entries.append((record.get("file", f"line {number}"), hashes))
    failed = 0
    for path in files:
        try:
            query = query_hashes(_load(path))
        except Exception as error:  # noqa: BLE001
            typer.echo(f"error: {path}: cannot hash: {error}", err=True)
            failed += 1
            continue
        matches = [{"registered": name, "distance": score} for name, hashes in entries
                   if (score := match_score(query, hashes)) <= limit]
        sys.stdout.write(json.dumps({"file": str(path), "matches": matches}) + "\n")
    if failed:
        raise typer.Exit(1)
