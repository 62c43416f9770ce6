"""Scan rows: one per file, deterministic (no clock, no worker id), written as Parquet.

Each shard is written to a temporary name and renamed into place, so a shard file either holds
all its rows or does not exist; its SHA-256 goes into the checkpoint.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from stopframe.hashing.files import HashRecord
from stopframe.matching.match import Match, decide

SIGNAL = pa.struct([("kind", pa.string()), ("value", pa.string()), ("quality", pa.int32())])
MATCH = pa.struct(
    [
        ("source", pa.string()),
        ("bank", pa.string()),
        ("entry_id", pa.int64()),
        ("kind", pa.string()),
        ("distance", pa.int32()),
    ]
)
SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("size", pa.int64()),
        ("status", pa.string()),
        ("media_type", pa.string()),
        ("signals", pa.list_(SIGNAL)),
        ("matches", pa.list_(MATCH)),
        ("decision", pa.string()),
        ("error", pa.string()),
    ]
)
Row = dict[str, Any]


def file_size(path: str) -> int | None:
    """The file's size in bytes, or None when it cannot be read."""
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def make_row(record: HashRecord, size: int | None, matches: Sequence[Match]) -> Row:
    """The row of one hashed file and the list entries it matched."""
    ordered = sorted(matches, key=lambda m: (m.source, m.entry_id, m.kind))
    return {
        "path": record.path,
        "size": size,
        "status": record.status,
        "media_type": record.media_type,
        "signals": [
            {"kind": s.kind, "value": s.value, "quality": s.quality} for s in record.signals
        ],
        "matches": [
            {
                "source": m.source,
                "bank": m.bank,
                "entry_id": m.entry_id,
                "kind": m.kind,
                "distance": m.distance,
            }
            for m in ordered
        ],  # fmt: skip
        "decision": decide(ordered).value,
        "error": record.error,
    }


def write_rows(rows: Sequence[Row], target: Path) -> str:
    """Write `rows` to `target` atomically (temporary file, fsync, rename); returns its
    SHA-256."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    table = pa.Table.from_pylist(list(rows), schema=SCHEMA)
    pq.write_table(table, temporary, compression="zstd")
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    return file_digest(target)


def file_digest(path: Path) -> str:
    """SHA-256 of a shard file."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_rows(out: Path) -> pa.Table:
    """Every row of the scan in `out`, ordered by path (shards are path-ordered runs)."""
    files = sorted((out / "shards").glob("shard-*.parquet"))
    tables = [pq.read_table(path, schema=SCHEMA) for path in files]
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()


def tally(out: Path) -> dict[str, dict[str, int]]:
    """Files per status and per decision over every shard in `out` (two columns read)."""
    files = sorted((out / "shards").glob("shard-*.parquet"))
    counts: dict[str, dict[str, int]] = {"status": {}, "decision": {}}
    for path in files:
        table = pq.read_table(path, columns=list(counts))
        for column, found in counts.items():
            for value in table.column(column).to_pylist():
                found[value] = found.get(value, 0) + 1
    return {column: dict(sorted(found.items())) for column, found in counts.items()}
