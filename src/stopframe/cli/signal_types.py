"""`stopframe signals`: the registered signal types and their facts, as a table or JSON."""

from __future__ import annotations

import json
from typing import Annotated, TypedDict

import typer
from rich.console import Console
from rich.table import Table

from stopframe.signals import SIGNAL_TYPES


class _SignalRow(TypedDict):
    """One signal type as listed (and as written in the JSON output)."""

    name: str
    contents: list[str]
    threshold: int
    quality_floor: int
    index: str
    aliases: list[str]
    description: str


def signals_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List every signal type stopframe knows: content, threshold, quality floor, index."""
    rows: list[_SignalRow] = [
        {
            "name": t.name,
            "contents": [c.value for c in t.contents],
            "threshold": t.default_threshold,
            "quality_floor": t.quality_floor,
            "index": t.index_kind.value,
            "aliases": list(t.aliases),
            "description": t.description,
        }
        for t in SIGNAL_TYPES.values()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="signal types", title_justify="left")
    for column in ("name", "contents", "threshold", "quality floor", "index", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            ", ".join(row["contents"]),
            str(row["threshold"]),
            str(row["quality_floor"]),
            row["index"],
            row["description"],
        )
    Console(width=140).print(table)
