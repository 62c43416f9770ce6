"""`stopframe hash-video` and `stopframe match-video`: vPDQ hashes of videos and clip matching;
`hash-video --tmk OUT.tmk VIDEO` writes one video's TMK+PDQF hash in Meta's `.tmk` format.

Exit codes: hash-video 0 = every file hashed (partial ones are flagged), 1 = some file could not
be hashed; match-video 0 = match, 1 = no match; both 2 = bad arguments or unreadable input.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from stopframe.errors import MediaError, SignalValueError
from stopframe.matching.video import DEFAULT_COMPARED_THRESHOLD, DEFAULT_QUERY_THRESHOLD, match_vpdq
from stopframe.media.sniff import SNIFF_BYTES
from stopframe.media.video import sniff_animation, sniff_video
from stopframe.signals.pdq import PDQ, PDQ_BITS
from stopframe.signals.tmk import hash_video_tmk, write_tmk
from stopframe.signals.vpdq import (
    VideoHash,
    VpdqFrame,
    format_vpdq_lines,
    hash_video,
    read_vpdq_file,
)


class HashFormat(StrEnum):
    vpdq = "vpdq"
    json = "json"
    jsonl = "jsonl"


class MatchFormat(StrEnum):
    text = "text"
    json = "json"


Rate = Annotated[
    float,
    typer.Option(
        "--rate",
        min=0.0,
        envvar="STOPFRAME_VIDEO_RATE",
        help="Seconds between hashed frames (1 = one frame per second, 0 = every frame).",
    ),
]
RemoveBars = Annotated[
    bool,
    typer.Option(
        "--remove-bars/--keep-bars",
        envvar="STOPFRAME_VIDEO_REMOVE_BARS",
        help="Crop fixed letterbox/pillarbox bars before hashing.",
    ),
]
Threads = Annotated[
    int,
    typer.Option(
        "--threads",
        min=0,
        envvar="STOPFRAME_VIDEO_THREADS",
        help="Decoder threads (0 = automatic).",
    ),
]


def _err(message: str) -> None:
    typer.echo(f"error: {message}", err=True)


def _record(path: Path, result: VideoHash) -> dict[str, object]:
    box = result.content_box
    return {
        "file": str(path),
        "md5": result.md5,
        "sha256": result.sha256,
        "fps": result.fps,
        "width": result.width,
        "height": result.height,
        "duration_s": result.duration_s,
        "frame_count": result.frame_count,
        "rate": result.interval,
        "content_box": [box.top, box.bottom, box.left, box.right] if box else None,
        "partial": result.partial,
        "partial_reason": result.partial_reason,
        "vpdq": [
            {
                "frame": f.frame_number,
                "quality": f.quality,
                "pdq": f.hex,
                "timestamp": round(f.timestamp, 3),
            }
            for f in result.frames
        ],
    }


def hash_video_command(
    paths: Annotated[list[Path], typer.Argument(help="Video files to hash.")],
    rate: Rate = 1.0,
    remove_bars: RemoveBars = True,
    threads: Threads = 0,
    output_format: Annotated[
        HashFormat, typer.Option("--format", help="vpdq lines, json or jsonl.")
    ] = HashFormat.vpdq,
    tmk: Annotated[
        Path | None,
        typer.Option(
            "--tmk",
            dir_okay=False,
            help="Write the one video's TMK+PDQF hash to this .tmk file instead of printing vPDQ.",
        ),
    ] = None,
) -> None:
    """Print the vPDQ hash of each video (`frame,quality,pdq_hex,seconds` lines) and its MD5."""
    if tmk is not None:
        _write_tmk(paths, tmk, threads)
    failed = False
    records = []
    for path in paths:
        try:
            result = hash_video(path, rate=rate, remove_bars=remove_bars, threads=threads)
        except MediaError as exc:
            _err(str(exc))
            failed = True
            continue
        if result.partial:
            typer.echo(f"warning: {path}: partial result: {result.partial_reason}", err=True)
        if output_format is HashFormat.vpdq:
            typer.echo(f"# {path} md5={result.md5}" + (" partial" if result.partial else ""))
            typer.echo(format_vpdq_lines(result.frames), nl=False)
        elif output_format is HashFormat.jsonl:
            typer.echo(json.dumps(_record(path, result)))
        else:
            records.append(_record(path, result))
    if output_format is HashFormat.json:
        typer.echo(json.dumps(records, indent=2))
    raise typer.Exit(1 if failed else 0)


def _write_tmk(paths: list[Path], out: Path, threads: int) -> None:
    """Hash one video with TMK+PDQF and write Meta's `.tmk` file; exits like hash-video."""
    if len(paths) != 1:
        _err("--tmk writes the hash of exactly one video")
        raise typer.Exit(2)
    try:
        result = hash_video_tmk(paths[0], threads=threads)
        write_tmk(out, result.features)
    except MediaError as exc:
        _err(str(exc))
        raise typer.Exit(1) from None
    except OSError as exc:
        _err(f"{out}: cannot write the .tmk file ({exc.strerror})")
        raise typer.Exit(2) from None
    if result.partial:
        typer.echo(f"warning: {paths[0]}: partial result: {result.partial_reason}", err=True)
    frames = result.features.frame_count
    typer.echo(f"{out}: TMK+PDQF of {paths[0]} ({frames} frames at 15 fps)", err=True)
    raise typer.Exit(0)


def _load(path: Path, rate: float, remove_bars: bool, threads: int) -> list[VpdqFrame]:
    """Frames of a video file (hashed now) or of a vPDQ hash file (read)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if sniff_video(head) or sniff_animation(head):
        return hash_video(path, rate=rate, remove_bars=remove_bars, threads=threads).frames
    return read_vpdq_file(path)


def match_video_command(
    query: Annotated[Path, typer.Argument(help="Query: a video file or a vPDQ hash file.")],
    compared: Annotated[Path, typer.Argument(help="Compared: a video file or a vPDQ hash file.")],
    query_threshold: Annotated[
        float,
        typer.Option(
            "--query-threshold",
            min=0,
            max=100,
            help="Match when at least this % of query frames match.",
        ),
    ] = DEFAULT_QUERY_THRESHOLD,
    compared_threshold: Annotated[
        float,
        typer.Option(
            "--compared-threshold",
            min=0,
            max=100,
            help="... and at least this % of compared frames match.",
        ),
    ] = DEFAULT_COMPARED_THRESHOLD,
    distance: Annotated[
        int,
        typer.Option(
            "--distance", min=0, max=PDQ_BITS, help="Frames match within this many differing bits."
        ),
    ] = PDQ.default_threshold,
    quality_min: Annotated[
        int,
        typer.Option("--quality-min", min=0, max=100, help="Ignore frames below this PDQ quality."),
    ] = PDQ.quality_floor,
    rate: Rate = 1.0,
    remove_bars: RemoveBars = True,
    threads: Threads = 0,
    output_format: Annotated[
        MatchFormat, typer.Option("--format", help="text or json.")
    ] = MatchFormat.text,
) -> None:
    """Compare two videos by vPDQ and print both match percentages and the verdict."""
    try:
        frames = [_load(path, rate, remove_bars, threads) for path in (query, compared)]
    except (MediaError, SignalValueError, OSError) as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    result = match_vpdq(
        frames[0],
        frames[1],
        distance=distance,
        quality_min=quality_min,
        query_threshold=query_threshold,
        compared_threshold=compared_threshold,
    )
    if output_format is MatchFormat.json:
        typer.echo(
            json.dumps(
                {
                    "query": str(query),
                    "compared": str(compared),
                    "query_frames": result.query_frames,
                    "compared_frames": result.compared_frames,
                    "query_match_pct": round(result.query_match_pct, 2),
                    "compared_match_pct": round(result.compared_match_pct, 2),
                    "query_threshold": query_threshold,
                    "compared_threshold": compared_threshold,
                    "match": result.is_match,
                }
            )
        )
    else:
        verdict = "MATCH" if result.is_match else "no match"
        typer.echo(
            f"query {result.query_match_pct:.2f}% of {result.query_frames} frames, "
            f"compared {result.compared_match_pct:.2f}% of {result.compared_frames} frames: "
            f"{verdict}"
        )
    raise typer.Exit(0 if result.is_match else 1)
