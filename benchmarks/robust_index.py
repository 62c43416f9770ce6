"""Benchmark: what the robust picture kind (`pdq_robust`) costs at scale in the real index,
against plain PDQ at the same number of pictures, measured in the same run.

A registered `pdq_robust` picture is a set of up to 32 PDQ-format codes (whole picture, trimmed,
crops, small rotations), every one indexed under the entry's row ids
(`stopframe.matching.rows.first_row(source, entry) + row number`). A query picture is a set of up
to 32 codes (its dihedral variants, mean about 16) searched at `PDQ_ROBUST.default_threshold`;
its result is the entries with any code inside the radius, one result per entry (hits mapped with
`split_rows`, as the matcher does). The reference is plain PDQ: one code per picture, radius
`PDQ.default_threshold`, one code per query.

How the data is built, and why. Uniform random codes would be wrong twice over: real PDQ codes
are clustered (far fewer pairs near one another than uniform, but families of near-duplicates and
collapsed low-quality pictures), and a robust set's codes are not independent: its crops and
rotations sit at small, structured distances from its whole-picture code. So:

1. Real set shapes. The shipped sample pictures (`stopframe.samples`) and, when present, up to
   `--corpus-pictures` benign pictures of the corpus (`--corpus`, evenly spaced over its sorted
   list) are decoded (`load_rgb(path, 640)`) and hashed with `register_hashes`. Each picture also
   gets one edited copy, made with numpy (a 5 % crop, centred or from one side, a mirror, or a
   mirror plus a 5 % crop, in turn), hashed with `query_hashes`. For each picture we keep every
   registered code's XOR offset from its first ("full") code, every query code's XOR offset from
   the same full code, and the real set distance of the edited copy to the original.
2. Registered picture i = a base code from `stopframe.index.synthetic.realistic_codes` (fitted to
   real PDQ hashes: 128 one-bits, correlated bits, Zipf families of near-duplicates, a little
   low-quality collapse) XOR the registered offsets of a real picture chosen at random (seeded).
   XOR by a common base keeps every distance inside the set exactly as in the real set, and the
   bases keep the realistic spread between pictures.
3. Queries: half near copies, half unrelated, shuffled. A near copy of registered picture i is
   its base XOR the query offsets of the same real picture, so its distances to picture i's
   codes are exactly those of the real edited copy to the real original (the near copies are
   drawn from the pictures whose real edited copy matched, so every one of them must be found).
   An unrelated query is a fresh base (another seed) XOR the query offsets of a random real
   picture. The plain PDQ reference indexes the bases (standing for the originals' PDQ hashes)
   and queries each picture with its base XOR the real offset between the plain PDQ hashes
   (`pdq_from_rgb`) of the edited copy and of the original, so its recall is plain PDQ's own
   (it misses mirrors and many crops: that is what the robust kind is for).

Measured, for each segment kind (compact by default, `tables=True`): build time, index bytes
(`nbytes`) per code and per registered picture, single-picture latency (one query set at a time
through `range_search_batch`, p50 / p99), and batched throughput (batches of `--batch` query
pictures) in ms per query picture on `--threads` cores and on one core. Query timings run in
forked child processes pinned to those cores (`os.sched_setaffinity`): the index's thread pool has
`os.cpu_count()` workers and its kernels are serial numba code (no NUMBA_NUM_THREADS or
threadpool limit applies), so pinning is what confines it to a number of cores; the forked child
shares the built index with the parent (copy-on-write), so nothing is copied or written to disk.
Timings are medians over `--repeats` runs. The run fails (exit status 1) if a near copy is missed.

    PYTHONPATH=src .venv/bin/python benchmarks/robust_index.py --pictures 1000000
    PYTHONPATH=src .venv/bin/python benchmarks/robust_index.py --pictures 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stopframe.bench.corpus import default_corpus_dir, list_images
from stopframe.bench.images import as_array, load_rgb
from stopframe.errors import MediaError
from stopframe.index import HammingIndex
from stopframe.index.layout import ChunkLayout
from stopframe.index.synthetic import HashModel, realistic_codes
from stopframe.matching.rows import ENTRY_BITS, ROW_BITS, first_row, split_rows
from stopframe.samples import sample_images
from stopframe.signals.pdq import PDQ, pdq_from_rgb
from stopframe.signals.pdq_robust import (
    PDQ_ROBUST,
    RobustHash,
    query_hashes,
    register_hashes,
    set_distance,
)

ROBUST_SOURCE = 1  # source numbers in the row ids (any will do; one per list)
PDQ_SOURCE = 2
EDITS = ("crop 5 % centre", "crop 5 % side", "mirror", "mirror + crop 5 %")
BLOCK = 1 << 16  # pictures whose codes are generated together
GOAL_BYTES_PER_PICTURE = 1024
GOAL_MS_ONE_CORE = 5.0
TABLES_MEMORY_SHARE = 0.6  # tables are skipped when they would need more of the available RAM


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


# -- real set shapes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shapes:
    """Offsets of real registered and query sets from their original's full code, CSR form."""

    names: list[str]
    edits: list[str]
    reg: np.ndarray  # (sum of set sizes, 32) uint8; each set's first row is zero
    reg_start: np.ndarray  # (P + 1,) int64
    query: np.ndarray  # (sum of query set sizes, 32) uint8
    query_start: np.ndarray  # (P + 1,) int64
    pdq_query: np.ndarray  # (P, 32) uint8: plain PDQ of the edited copy XOR of the original
    distance: np.ndarray  # (P,) real set distance of the edited copy to the original

    def __len__(self) -> int:
        return len(self.names)

    @property
    def reg_sizes(self) -> np.ndarray:
        return np.diff(self.reg_start)

    @property
    def query_sizes(self) -> np.ndarray:
        return np.diff(self.query_start)


def edit(rgb: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One of `EDITS`, in numpy: crops cut 5 % of the width and height (2.5 % each side when
    centred, all from one side chosen at random otherwise)."""
    out = rgb[:, ::-1] if kind.startswith("mirror") else rgb
    h, w = out.shape[:2]
    if kind.endswith("centre") or kind.endswith("+ crop 5 %"):
        dy, dx = round(h * 0.025), round(w * 0.025)
        out = out[dy : h - dy, dx : w - dx]
    elif kind.endswith("side"):
        dy, dx = round(h * 0.05), round(w * 0.05)
        side = int(rng.integers(0, 4))
        out = (out[:, dx:], out[dy:], out[:, : w - dx], out[: h - dy])[side]
    return np.ascontiguousarray(out)


def _digests(items: list[RobustHash]) -> np.ndarray:
    return np.frombuffer(b"".join(item.hash.digest for item in items), np.uint8).reshape(-1, 32)


def real_shapes(paths: list[Path], seed: int) -> Shapes:
    """Hash each picture (registration set, and the query set of one edited copy) and keep the
    offsets; pictures without a usable set are left out."""
    rng = np.random.default_rng(seed)
    names: list[str] = []
    edits: list[str] = []
    reg: list[np.ndarray] = []
    query: list[np.ndarray] = []
    pdq_query: list[np.ndarray] = []
    distance: list[int] = []
    for path in paths:
        try:
            rgb = as_array(load_rgb(path, 640))
        except MediaError as exc:
            log(f"skipped {path}: {exc}")
            continue
        registered = register_hashes(rgb)
        kind = EDITS[len(names) % len(EDITS)]
        edited = edit(rgb, kind, rng)
        queried = query_hashes(edited)
        if not registered or not queried:
            continue
        full = _digests(registered[:1])
        names.append(path.name)
        edits.append(kind)
        reg.append(_digests(registered) ^ full)
        query.append(_digests(queried) ^ full)
        pdq_query.append(
            np.frombuffer(pdq_from_rgb(edited).hash.digest, np.uint8)
            ^ np.frombuffer(pdq_from_rgb(rgb).hash.digest, np.uint8)
        )
        distance.append(set_distance(queried, registered))
    if not names:
        raise SystemExit("no picture gave a usable robust set")
    return Shapes(
        names,
        edits,
        np.concatenate(reg),
        np.r_[0, np.cumsum([r.shape[0] for r in reg])].astype(np.int64),
        np.concatenate(query),
        np.r_[0, np.cumsum([q.shape[0] for q in query])].astype(np.int64),
        np.stack(pdq_query),
        np.array(distance, dtype=np.int64),
    )


def shape_pictures(corpus: Path | None, limit: int) -> list[Path]:
    """The shipped samples, then up to `limit` corpus pictures spread evenly over its list."""
    paths = list(sample_images())
    if corpus is None or limit <= 0:
        return paths
    found = list_images(corpus / "images")
    if not found:
        log(f"no corpus at {corpus}: set shapes from the {len(paths)} shipped samples only")
        return paths
    step = max(1, len(found) // limit)
    return paths + found[::step][:limit]


# -- synthetic registered pictures and queries ----------------------------------------------------


@dataclass(frozen=True)
class Registered:
    bases: np.ndarray  # (N, 32) the picture's full code
    shape: np.ndarray  # (N,) real picture whose offsets it carries
    codes: np.ndarray  # (rows, 32)
    ids: np.ndarray  # (rows,) uint64, increasing


def _expand(start: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For sets whose rows begin at `start` with `sizes` rows: each row's set number (0-based
    within the call), its number within its set, and its index into the concatenated rows."""
    owner = np.repeat(np.arange(sizes.shape[0]), sizes)
    within = np.arange(owner.shape[0]) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return owner, within, start[owner] + within


def registered_sets(n: int, shapes: Shapes, seed: int, model: HashModel) -> Registered:
    """n pictures: realistic base codes XOR the registered offsets of seeded random real sets,
    generated block by block into preallocated arrays; ids follow `first_row`."""
    rng = np.random.default_rng(seed)
    bases = realistic_codes(n, seed=seed, model=model)
    shape = rng.integers(0, len(shapes), n)
    sizes = shapes.reg_sizes[shape]
    total = int(sizes.sum())
    codes = np.empty((total, 32), dtype=np.uint8)
    ids = np.empty(total, dtype=np.uint64)
    first = np.uint64(first_row(ROBUST_SOURCE, 0))
    out = 0
    for lo in range(0, n, BLOCK):
        hi = min(n, lo + BLOCK)
        owner, within, row = _expand(shapes.reg_start[shape[lo:hi]], sizes[lo:hi])
        k = owner.shape[0]
        codes[out : out + k] = bases[lo + owner] ^ shapes.reg[row]
        ids[out : out + k] = (
            first
            + ((lo + owner).astype(np.uint64) << np.uint64(ROW_BITS))
            + within.astype(np.uint64)
        )
        out += k
    return Registered(bases, shape, codes, ids)


@dataclass(frozen=True)
class QuerySet:
    """Query pictures in CSR form: picture i owns codes[start[i]:start[i + 1]]."""

    codes: np.ndarray
    start: np.ndarray
    target: np.ndarray  # (Q,) entry id a near copy must find, -1 for unrelated pictures

    def __len__(self) -> int:
        return int(self.start.shape[0] - 1)

    def pictures(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Codes of pictures lo..hi-1 and each code's picture number (from 0)."""
        codes = self.codes[self.start[lo] : self.start[hi]]
        owner = np.repeat(np.arange(hi - lo), np.diff(self.start[lo : hi + 1]))
        return codes, owner


def make_queries(
    reg: Registered, shapes: Shapes, n: int, seed: int, model: HashModel
) -> tuple[QuerySet, QuerySet]:
    """Robust query sets and the plain PDQ queries of the same pictures (one code each)."""
    rng = np.random.default_rng(seed + 1)
    eligible = np.flatnonzero(shapes.distance[reg.shape] <= PDQ_ROBUST.default_threshold)
    n_near = n // 2 if eligible.size else 0
    target = np.full(n, -1, dtype=np.int64)
    target[:n_near] = rng.choice(eligible, n_near) if n_near else []
    # unrelated pictures: no family may start from the committed real hashes the registered
    # bases also start from (that would be the same picture) and no collapsed low-quality code
    # (quality < 50: never queried by the real hashers)
    fresh = realistic_codes(
        n - n_near, seed=seed + 1_000_003, real_fraction=0.0, collapse_fraction=0.0, model=model
    )
    base = np.concatenate([reg.bases[target[:n_near]], fresh])
    shape = np.concatenate(
        [reg.shape[target[:n_near]], rng.integers(0, len(shapes), n - n_near)]
    ).astype(np.int64)
    order = rng.permutation(n)
    target, base, shape = target[order], base[order], shape[order]
    sizes = shapes.query_sizes[shape]
    owner, _, row = _expand(shapes.query_start[shape], sizes)
    robust = QuerySet(
        base[owner] ^ shapes.query[row], np.r_[0, np.cumsum(sizes)].astype(np.int64), target
    )
    plain = QuerySet(base ^ shapes.pdq_query[shape], np.arange(n + 1, dtype=np.int64), target)
    return robust, plain


# -- searching and timing -------------------------------------------------------------------------


def search_pictures(
    index: HammingIndex, codes: np.ndarray, owner: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """(picture, entry id) of every entry with a code inside `radius` of one of the picture's
    codes, once per entry: what the matcher gets from one search of a batch."""
    hits = index.range_search_batch(codes, radius)
    _, entry, _ = split_rows(hits.ids)
    key = np.unique((owner[hits.query_index()] << ENTRY_BITS) | entry)
    return key >> ENTRY_BITS, key & ((1 << ENTRY_BITS) - 1)


@dataclass
class Timing:
    single_p50_ms: float = float("nan")
    single_p99_ms: float = float("nan")
    batch_ms: float = float("nan")
    near_found: int = 0
    near_total: int = 0
    unrelated_hits: float = float("nan")
    unrelated_any: float = float("nan")


def time_queries(
    index: HammingIndex,
    warm: HammingIndex,
    queries: QuerySet,
    radius: int,
    *,
    batch: int,
    single: int,
    repeats: int,
) -> Timing:
    """Single-picture latency (when `single`) and batched ms per picture, medians of `repeats`;
    recall and unrelated hits from the last batched run."""
    n = len(queries)
    out = Timing()
    search_pictures(warm, *queries.pictures(0, min(batch, n)), radius)  # compile, cheaply
    search_pictures(index, *queries.pictures(0, 1), radius)
    if single:
        p50, p99 = [], []
        for _ in range(repeats):
            took = []
            for i in range(min(single, n)):
                codes, owner = queries.pictures(i, i + 1)
                t = time.perf_counter()
                search_pictures(index, codes, owner, radius)
                took.append(time.perf_counter() - t)
            p50.append(1000 * float(np.percentile(took, 50)))
            p99.append(1000 * float(np.percentile(took, 99)))
        out.single_p50_ms, out.single_p99_ms = float(np.median(p50)), float(np.median(p99))
    per_run = []
    for _ in range(repeats):
        total = 0.0
        pic_parts, entry_parts = [], []
        for lo in range(0, n, batch):
            hi = min(n, lo + batch)
            codes, owner = queries.pictures(lo, hi)
            t = time.perf_counter()
            pic, entry = search_pictures(index, codes, owner, radius)
            total += time.perf_counter() - t
            pic_parts.append(pic + lo)
            entry_parts.append(entry)
        per_run.append(1000 * total / n)
    out.batch_ms = float(np.median(per_run))
    pic, entry = np.concatenate(pic_parts), np.concatenate(entry_parts)
    near = np.flatnonzero(queries.target >= 0)
    want = (near << ENTRY_BITS) | queries.target[near]
    out.near_found = int(np.isin(want, (pic << ENTRY_BITS) | entry).sum())
    out.near_total = int(near.size)
    unrelated = queries.target < 0
    if unrelated.any():
        per_picture = np.bincount(pic, minlength=n)[unrelated]
        out.unrelated_hits = float(per_picture.mean())
        out.unrelated_any = float((per_picture > 0).mean())
    return out


def in_child(cores: set[int] | None, job: Callable[[], Timing]) -> Timing:
    """Run `job` in a forked child pinned to `cores`: it shares the built index copy-on-write,
    and every thread it starts (the index's pool) inherits the pinning."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            if cores is not None:
                os.sched_setaffinity(0, cores)
            send.send(("ok", job()))
        except BaseException:
            send.send(("error", traceback.format_exc()))

    process = ctx.Process(target=child)
    process.start()
    send.close()  # the child's end stays open in the child only: its death ends recv()
    try:
        status, value = receive.recv()
    except EOFError:
        status, value = "error", "it died without a result (out of memory?)"
    process.join()
    if status != "ok":
        raise RuntimeError(f"benchmark child failed:\n{value}")
    result: Timing = value
    return result


# -- one index kind -------------------------------------------------------------------------------


@dataclass
class Row:
    kind: str
    segment: str
    pictures: int
    codes: int
    radius: int
    build_s: float = float("nan")
    nbytes: int = 0
    skipped: str = ""
    timing: Timing = field(default_factory=Timing)
    one_core_ms: float = float("nan")

    @property
    def bytes_per_code(self) -> float:
        return self.nbytes / self.codes

    @property
    def bytes_per_picture(self) -> float:
        return self.nbytes / self.pictures


def available_bytes() -> int:
    """MemAvailable from /proc/meminfo (free pages where it is missing)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def tables_extra_bytes(n_rows: int) -> int:
    """Memory a tabled build needs beyond the compact arrays: positions (4 bytes per row and
    chunk), one chunk's keys while it is sorted, and the offsets (twice while concatenated)."""
    layout = ChunkLayout.for_size(n_rows)
    offsets = 4 * sum((1 << int(w)) + 1 for w in layout.widths.tolist())
    return n_rows * (4 * layout.n_chunks + 4) + 2 * offsets


def measure(
    row: Row,
    ids: np.ndarray,
    codes: np.ndarray,
    queries: QuerySet,
    args: argparse.Namespace,
    cores: set[int] | None,
    one_core: set[int] | None,
) -> Row:
    tables = row.segment == "tables"
    if tables:
        need, have = tables_extra_bytes(codes.shape[0]), available_bytes()
        if need > TABLES_MEMORY_SHARE * have:
            row.skipped = (
                f"tables need about {need / 2**30:.1f} GiB more, over "
                f"{TABLES_MEMORY_SHARE:.0%} of the {have / 2**30:.1f} GiB available"
            )
            log(f"{row.kind} {row.segment}: skipped ({row.skipped})")
            return row
    gc.collect()
    log(f"{row.kind} {row.segment}: building over {codes.shape[0]:,} codes")
    t = time.perf_counter()
    index = HammingIndex.build(ids, codes, tables=tables)
    row.build_s = time.perf_counter() - t
    row.nbytes = index.nbytes
    warm = HammingIndex.build(ids[:4096], codes[:4096], tables=tables)
    options: dict[str, Any] = {"batch": args.batch, "repeats": args.repeats}
    log(f"{row.kind} {row.segment}: timing on {len(cores) if cores else 'all'} cores")
    row.timing = in_child(
        cores,
        lambda: time_queries(
            index, warm, queries, row.radius, single=args.single_queries, **options
        ),
    )
    if one_core is not None:
        log(f"{row.kind} {row.segment}: timing batches on one core")
        row.one_core_ms = in_child(
            one_core, lambda: time_queries(index, warm, queries, row.radius, single=0, **options)
        ).batch_ms
    return row  # the index goes with this frame (and the lambdas holding it)


# -- report ---------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "n/a" if value != value else f"{value:,.3f}" if value < 10 else f"{value:,.1f}"


def _ratio(a: float, b: float) -> str:
    return "n/a" if not (a == a and b == b and b > 0) else f"{a / b:,.1f}x"


def report(rows: list[Row], shapes: Shapes, threads: int, one_core: bool) -> str:
    lines = [
        "| kind | segment | pictures | codes | radius | build s | bytes/code | bytes/picture"
        f" | single p50 ms | single p99 ms | batched ms/picture ({threads} cores)"
        " | batched ms/picture (1 core) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        head = f"| {r.kind} | {r.segment} | {r.pictures:,} | {r.codes:,} | {r.radius}"
        if r.skipped:
            lines.append(head + f" | skipped: {r.skipped} |||||||")
            continue
        t = r.timing
        lines.append(
            head + f" | {r.build_s:.2f} | {r.bytes_per_code:.1f} | {r.bytes_per_picture:,.0f}"
            f" | {_ms(t.single_p50_ms)} | {_ms(t.single_p99_ms)} | {_ms(t.batch_ms)}"
            f" | {_ms(r.one_core_ms)} |"
        )
    lines.append("")
    sizes, qsizes = shapes.reg_sizes, shapes.query_sizes
    matched = shapes.distance <= PDQ_ROBUST.default_threshold
    by_edit = ", ".join(
        f"{kind} {int(matched[np.array(shapes.edits) == kind].sum())}"
        f"/{int((np.array(shapes.edits) == kind).sum())}"
        for kind in EDITS
        if kind in shapes.edits
    )
    lines.append(
        f"real sets: {len(shapes)} pictures; registered codes per picture mean {sizes.mean():.1f}"
        f" (min {sizes.min()}, max {sizes.max()}); query codes per picture mean"
        f" {qsizes.mean():.1f} (min {qsizes.min()}, max {qsizes.max()}); edited copies within"
        f" {PDQ_ROBUST.default_threshold} of their original: {int(matched.sum())}/{len(shapes)}"
        f" ({by_edit})"
    )
    done = {(r.kind, r.segment): r for r in rows if not r.skipped}
    for segment in ("compact", "tables"):
        robust, plain = done.get(("pdq_robust", segment)), done.get(("pdq", segment))
        if robust is None or plain is None:
            continue
        lines.append(
            f"{segment}: pdq_robust / pdq = {_ratio(robust.nbytes, plain.nbytes)}"
            " bytes per picture,"
            f" {_ratio(robust.timing.single_p50_ms, plain.timing.single_p50_ms)} single p50,"
            f" {_ratio(robust.timing.batch_ms, plain.timing.batch_ms)} batched,"
            f" {_ratio(robust.one_core_ms, plain.one_core_ms)} batched on one core"
        )
    for r in done.values():
        t = r.timing
        note = " (must be all)" if r.kind == "pdq_robust" else " (plain PDQ's own recall)"
        lines.append(
            f"{r.kind} {r.segment}: near copies found {t.near_found}/{t.near_total}{note};"
            f" unrelated queries hit {t.unrelated_hits:.2f} entries on average"
            f" ({100 * t.unrelated_any:.1f} % hit any)"
        )
    for r in done.values():
        if r.kind != "pdq_robust":
            continue
        met = r.bytes_per_picture <= GOAL_BYTES_PER_PICTURE
        lines.append(
            f"goal <= 1 KB ({GOAL_BYTES_PER_PICTURE:,} bytes) per registered picture, {r.segment}:"
            f" {r.bytes_per_picture:,.0f} bytes: {'met' if met else 'not met'}"
        )
        if one_core:
            ok = r.one_core_ms <= GOAL_MS_ONE_CORE
            lines.append(
                f"goal <= {GOAL_MS_ONE_CORE:g} ms per query picture batched on one core,"
                f" {r.segment}: {_ms(r.one_core_ms)} ms: {'met' if ok else 'not met'}"
            )
    return "\n".join(lines)


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--pictures", type=float, default=1_000_000, help="registered pictures")
    p.add_argument("--queries", type=int, default=1000, help="query pictures (half near copies)")
    p.add_argument("--batch", type=int, default=1000, help="query pictures per batched search")
    p.add_argument("--single-queries", type=int, default=200, help="pictures timed one at a time")
    p.add_argument("--repeats", type=int, default=3, help="timed runs; medians are reported")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="benign picture corpus for set shapes (default: $STOPFRAME_CORPUS or"
        " ~/.cache/stopframe/corpus, when present)",
    )
    p.add_argument(
        "--corpus-pictures", type=int, default=200, help="corpus pictures hashed (0: samples only)"
    )
    p.add_argument("--no-compact", action="store_true", help="leave out compact segments")
    p.add_argument("--no-tables", action="store_true", help="leave out tables=True segments")
    p.add_argument(
        "--threads", type=int, default=None, help="cores for the timings (default: all allowed)"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> str:
    args = parse_args(argv)
    n = int(args.pictures)
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_setaffinity") else None
    cores = set(allowed[: args.threads or len(allowed)]) if allowed else None
    one_core = set(allowed[:1]) if allowed else None
    threads = len(cores) if cores else os.cpu_count() or 1
    if one_core is None:
        log("no CPU affinity on this platform: one-core timings are left out")

    t = time.perf_counter()
    corpus = args.corpus if args.corpus is not None else default_corpus_dir()
    shapes = real_shapes(shape_pictures(corpus, args.corpus_pictures), args.seed)
    log(f"hashed {len(shapes)} real pictures for set shapes in {time.perf_counter() - t:.1f} s")
    mean_codes = float(shapes.reg_sizes.mean())
    need = n * mean_codes * 40 + n * 64
    log(
        f"{n:,} pictures, about {n * mean_codes:,.0f} codes: about {need / 2**30:.2f} GiB of"
        f" codes and ids ({available_bytes() / 2**30:.1f} GiB available)"
    )
    model = HashModel.fit()
    t = time.perf_counter()
    reg = registered_sets(n, shapes, args.seed, model)
    robust_q, plain_q = make_queries(reg, shapes, args.queries, args.seed, model)
    log(f"generated {reg.codes.shape[0]:,} codes in {time.perf_counter() - t:.1f} s")

    segments = [
        s for s, off in (("compact", args.no_compact), ("tables", args.no_tables)) if not off
    ]
    rows: list[Row] = []
    robust_radius, plain_radius = PDQ_ROBUST.default_threshold, PDQ.default_threshold
    plain_ids = np.uint64(first_row(PDQ_SOURCE, 0)) + (
        np.arange(n, dtype=np.uint64) << np.uint64(ROW_BITS)
    )
    for segment in segments:
        rows.append(
            measure(
                Row("pdq_robust", segment, n, reg.codes.shape[0], robust_radius),
                reg.ids,
                reg.codes,
                robust_q,
                args,
                cores,
                one_core,
            )
        )
        rows.append(
            measure(
                Row("pdq", segment, n, n, plain_radius),
                plain_ids,
                reg.bases,
                plain_q,
                args,
                cores,
                one_core,
            )
        )
    text = report(rows, shapes, threads, one_core is not None)
    print(text)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"peak resident memory: {peak:.2f} GiB (largest timing child {child:.2f} GiB, shared)")
    missed = [
        r
        for r in rows
        if r.kind == "pdq_robust" and not r.skipped and r.timing.near_found < r.timing.near_total
    ]
    if missed:
        raise SystemExit(f"near copies missed by {', '.join(r.segment for r in missed)}")
    return text


if __name__ == "__main__":
    main()
