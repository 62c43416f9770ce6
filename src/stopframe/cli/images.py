"""`stopframe match-images`: match pictures against robust registration sets written by
`stopframe hash --robust`, comparing each picture's rotations and mirrors.

Exit codes: 0 every picture checked, 1 some picture could not be hashed (named on stderr),
2 the registered file is unreadable or holds a bad record.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from stopframe.cli.settings import command_settings
from stopframe.errors import MediaError, SignalValueError
from stopframe.hashing.files import robust_query_of_file
from stopframe.matching.robust import match_score
from stopframe.media.limits import MediaLimits
from stopframe.signals import PDQ_ROBUST
from stopframe.signals.pdq_robust import RobustHash, parse_robust_set


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def read_registered(path: Path) -> list[tuple[str, list[RobustHash]]]:
    """(file, registration set) of every record with a `pdq_robust` value in a JSON-lines file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {path}: {exc}")
    entries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            value = record.get(PDQ_ROBUST.name) if isinstance(record, dict) else None
            if value is None:
                continue  # a record without a set: not a picture, or featureless
            entries.append((str(record.get("path", f"line {number}")), parse_robust_set(value)))
        except (ValueError, SignalValueError, AttributeError) as exc:
            _fail(f"{path}:{number}: not a hash record with a set: {exc}")
    return entries


def match_images_command(
    files: Annotated[list[Path], typer.Argument(help="Pictures to check.")],
    registered: Annotated[
        Path, typer.Option(help="JSON lines written by `stopframe hash --robust`.")
    ],
    threshold: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=PDQ_ROBUST.max_threshold,
            help="Match distance (default: the pdq_robust type's operating point).",
        ),
    ] = None,
) -> None:
    """For each picture, print the registered pictures it matches as one JSON line."""
    limit = PDQ_ROBUST.default_threshold if threshold is None else threshold
    limits = MediaLimits.from_settings(command_settings())
    entries = read_registered(registered)
    failed = 0
    for path in files:
        try:
            query = robust_query_of_file(path, limits)
        except MediaError as exc:
            typer.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        matches = [
            {"registered": name, "distance": score}
            for name, hashes in entries
            if (score := match_score(query, hashes)) <= limit
        ]
        matches.sort(key=lambda item: (item["distance"], item["registered"]))
        sys.stdout.write(json.dumps({"file": str(path), "matches": matches}) + "\n")
    if failed:
        raise typer.Exit(1)
