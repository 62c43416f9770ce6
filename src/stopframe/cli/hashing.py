"""`stopframe hash` (hash files and folders) and `stopframe quickstart` (the main job on the
embedded default). Exit codes: 0 every file hashed, 1 some file could not be hashed (its record
says why), 2 usage error."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.table import Table

from stopframe.cli.extras import require_extra
from stopframe.cli.progress import hashing_bar
from stopframe.cli.record_writers import OutputFormat, RecordWriter
from stopframe.cli.settings import command_settings
from stopframe.hashing.batch import hash_paths, iter_files
from stopframe.hashing.device import hash_paths_on_device
from stopframe.hashing.files import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_PARTIAL,
    STATUS_SKIPPED,
    HashOptions,
    HashRecord,
    with_limits,
)
from stopframe.samples import sample_images
from stopframe.signals import PDQ, pdq_torch
from stopframe.signals.pdq_image import DecodePath

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2


class Device(StrEnum):
    """Where `--device` hashes pictures' PDQ: a torch device, or `auto` (CUDA when present)."""

    CPU = "cpu"
    CUDA = "cuda"
    AUTO = "auto"


def _torch_device(device: Device) -> str:
    """The torch device `--device` names, once the gpu extra (and for cuda a GPU) is there."""
    require_extra("gpu", "stopframe hash --device")
    if device is Device.AUTO:
        return pdq_torch.default_device()
    if device is Device.CUDA and not pdq_torch.available():
        raise typer.BadParameter("torch sees no CUDA device here", param_hint="--device")
    return device.value


def _with_progress(
    records: Iterator[HashRecord], total: int, stderr: Console
) -> Iterator[HashRecord]:
    """Pass records through, drawing a progress bar on stderr when it is a terminal."""
    with hashing_bar(stderr) as advance:
        for done, record in enumerate(records, 1):
            if advance is not None:
                advance(done, total)
            yield record


def run_batch(
    paths: Iterable[str | Path],
    options: HashOptions,
    jobs: int,
    out: TextIO,
    fmt: OutputFormat,
    device: str | None = None,
) -> tuple[list[HashRecord], int]:
    """Hash `paths` (pictures' PDQ on the torch `device` when given), stream the records to
    `out`, report failures on stderr; returns the records and the exit code."""
    stderr = Console(stderr=True)
    items = list(iter_files(paths))
    writer = RecordWriter(out, fmt)
    records: list[HashRecord] = []
    if not items:
        stream: Iterator[HashRecord] = iter(())
    elif device is None:
        stream = hash_paths(items, options, jobs)
    else:
        stream = hash_paths_on_device(items, options, device)
    for record in _with_progress(stream, len(items), stderr):
        writer.write(record)
        records.append(record)
        if record.status in (STATUS_ERROR, STATUS_PARTIAL):
            stderr.print(
                f"[yellow]{record.status}[/] {record.path}: {record.error}",
                highlight=False,
                soft_wrap=True,
            )
    failed = sum(record.status == STATUS_ERROR for record in records)
    skipped = sum(record.status == STATUS_SKIPPED for record in records)
    if skipped:
        stderr.print(
            f"{skipped} file(s) in folders skipped: not an image or video", highlight=False
        )
    return records, EXIT_SOME_FAILED if failed else EXIT_OK


def hash_command(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (searched recursively).")],
    fmt: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="jsonl, csv, or te (ThreatExchange text)."),
    ] = OutputFormat.JSONL,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    dihedral: Annotated[
        bool, typer.Option("--dihedral", help="Add the 8 rotation/mirror PDQ hashes.")
    ] = False,
    robust: Annotated[
        bool,
        typer.Option(
            "--robust",
            help="Add registration variants: each picture's robust set (pdq_robust, <= 32 "
            "hashes) and each video's crops and turns of its frames (vpdq_robust).",
        ),
    ] = False,
    decode_path: Annotated[
        DecodePath, typer.Option("--path", help="fast (default) or reference (full decode).")
    ] = DecodePath.FAST,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes (env STOPFRAME_JOBS)."),
    ] = None,
    rate: Annotated[
        float,
        typer.Option("--rate", min=0.0, help="Videos: seconds between hashed frames (0 = all)."),
    ] = 1.0,
    keep_bars: Annotated[
        bool, typer.Option("--keep-bars", help="Videos: do not crop letterbox/pillarbox bars.")
    ] = False,
    tmk: Annotated[
        bool, typer.Option("--tmk", help="Videos: add the TMK+PDQF hash (base64 of the .tmk).")
    ] = False,
    device: Annotated[
        Device | None,
        typer.Option(
            "--device",
            help="Pictures: PDQ in batches on a torch device (extra gpu): cpu, cuda, or auto "
            "(cuda when present). Decodes every pixel, as --path reference does; --dihedral "
            "and --robust registration sets come from the device (query sets stay on the CPU); "
            "other files are hashed as "
            "without it, in this process (--jobs does not apply). Default: the CPU path.",
        ),
    ] = None,
) -> None:
    """Hash images (PDQ) and videos (vPDQ) with MD5 and SHA-256: a record per file, in order.
    Only hashes are written; the media never leaves this machine."""
    if robust and fmt is OutputFormat.TE:  # refused rather than dropped from every record
        raise typer.BadParameter(
            "the te format has one line per hash and cannot carry robust sets; "
            "use --format jsonl or csv",
            param_hint="--robust",
        )
    if tmk and fmt is OutputFormat.TE:
        raise typer.BadParameter(
            "the te format has one line per hash and cannot carry TMK hashes; "
            "use --format jsonl or csv",
            param_hint="--tmk",
        )
    torch_device = None if device is None else _torch_device(device)
    settings = command_settings()
    chosen = HashOptions(
        path=decode_path,
        dihedral=dihedral,
        robust=robust,
        video_rate=rate,
        remove_bars=not keep_bars,
        tmk=tmk,
    )
    options = with_limits(chosen, settings)
    with ExitStack() as stack:
        out = sys.stdout
        if output is not None:
            try:
                out = stack.enter_context(open(output, "w", encoding="utf-8", newline=""))
            except OSError as exc:
                raise typer.BadParameter(f"cannot write {output}: {exc.strerror}") from None
        _, code = run_batch(paths, options, jobs or settings.hashing.jobs, out, fmt, torch_device)
    raise typer.Exit(code)


def _summary_table(records: list[HashRecord]) -> Table:
    table = Table(title="stopframe: image hashes", title_justify="left")
    for column in ("file", "type", "size", "quality", "pdq / reason"):
        table.add_column(column, overflow="fold")
    for record in records:
        size = f"{record.width}x{record.height}" if record.width else ""
        pdq = record.signal(PDQ.name)
        detail = pdq.value if pdq and record.status == STATUS_OK else f"[red]{record.error}[/]"
        quality = "" if pdq is None or pdq.quality is None else str(pdq.quality)
        kind = record.format or ""
        table.add_row(Path(record.path).name, kind, size, quality, detail)
    return table


def quickstart_command(
    folder: Annotated[
        Path | None,
        typer.Argument(help="Folder of images to hash; default: the shipped sample images."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where the JSON lines go.")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes.")
    ] = None,
) -> None:
    """Hash the shipped sample images (or FOLDER) and show the results as a table."""
    if folder is not None and not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder")
    settings = command_settings()
    paths: list[Path] = [folder] if folder is not None else sample_images()
    target = output or settings.registry.data_dir / "quickstart-hashes.jsonl"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = open(target, "w", encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {target}: {exc.strerror}") from None
    with handle:
        records, code = run_batch(
            paths,
            with_limits(HashOptions(), settings),
            jobs or settings.hashing.jobs,
            handle,
            OutputFormat.JSONL,
        )
    console = Console() if sys.stdout.isatty() else Console(width=132)
    console.print(_summary_table(records))
    hashed = sum(record.status == STATUS_OK for record in records)
    console.print(f"{hashed} of {len(records)} files hashed; JSON lines written to {target}")
    raise typer.Exit(code)
