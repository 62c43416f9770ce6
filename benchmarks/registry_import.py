"""Benchmark: a bulk import of a partner list into a fresh registry, PostgreSQL against SQLite in
the same run (goal: 100k entries in <= 10 s on PostgreSQL).

Each run opens a new database (a temp SQLite file, or a new PostgreSQL schema), creates a bank
and times `transfer.import_file` (what `stopframe registry import` runs) on a ThreatExchange CSV
of benign random values, half PDQ (quality 100), half md5; then times importing the same file
again (every entry already present). Medians of the repeats, and PostgreSQL's ratio to SQLite.

    PYTHONPATH=src python benchmarks/registry_import.py \
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/stopframe_test
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from stopframe.apps.registry.services import banks, transfer
from stopframe.apps.registry.state import open_registry
from stopframe.config import RegistrySettings as Settings

GOAL_S = 10.0
BANK = "partner"


def partner_csv(count: int, seed: int) -> bytes:
    """A ThreatExchange CSV of `count` distinct benign values, alternating PDQ and md5."""
    rng = random.Random(seed)
    lines = ["signal_type,signal,quality"]
    for n in range(count):
        if n % 2:
            lines.append(f"md5,{rng.getrandbits(128):032x},")
        else:
            lines.append(f"pdq,{rng.getrandbits(256):064x},100")
    return ("\n".join(lines) + "\n").encode()


@contextmanager
def fresh_database(backend: str, postgres_url: str | None, tmp: Path) -> Iterator[str]:
    """The URL of an empty database: a new SQLite file, or a new PostgreSQL schema (dropped
    after)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / f'{uuid.uuid4().hex}.sqlite'}"
        return
    assert postgres_url
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def one_run(url: str, data_dir: Path, data: bytes) -> tuple[float, float, int]:
    """Seconds of the first import, of the same import again, and entries added the first time."""
    reg = open_registry(Settings(data_dir=data_dir, database_url=url))
    try:
        with reg.db.write() as session:
            banks.create_bank(session, BANK, ["pdq", "md5"], "bench")
        timings = []
        added = 0
        for _ in range(2):
            started = time.perf_counter()
            with reg.db.write() as session:
                bank = banks.get_bank(session, BANK)
                result = transfer.import_file(
                    session, bank, "threatexchange-csv", data, 10**7, "bench"
                )
            timings.append(time.perf_counter() - started)
            added = added or result.added
        return timings[0], timings[1], added
    finally:
        reg.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("STOPFRAME_TEST_POSTGRES_URL"),
        help="an existing database to make schemas in (default: $STOPFRAME_TEST_POSTGRES_URL)",
    )
    args = parser.parse_args()

    data = partner_csv(args.entries, seed=1)
    backends = ["sqlite"] + (["postgres"] if args.postgres_url else [])
    print(f"import of {args.entries:,} entries, {args.repeats} runs each, {os.cpu_count()} CPUs")
    medians: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            firsts, agains = [], []
            for run in range(args.repeats):
                with fresh_database(backend, args.postgres_url, Path(tmp)) as url:
                    first, again, added = one_run(url, Path(tmp) / f"data-{backend}-{run}", data)
                assert added == args.entries, f"{backend}: added {added} of {args.entries}"
                firsts.append(first)
                agains.append(again)
            medians[backend] = statistics.median(firsts), statistics.median(agains)
            print(
                f"{backend:>8}: first import {medians[backend][0]:6.2f} s "
                f"({args.entries / medians[backend][0]:,.0f} entries/s), "
                f"again {medians[backend][1]:6.2f} s"
            )
    if "postgres" in medians:
        pg, lite = medians["postgres"], medians["sqlite"]
        met = pg[0] * 100_000 / args.entries <= GOAL_S
        print(
            f"postgres / sqlite: first {pg[0] / lite[0]:.2f}x, again {pg[1] / lite[1]:.2f}x; "
            f"goal {GOAL_S:.0f} s per 100k on postgres: {'met' if met else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
