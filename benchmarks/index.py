"""Benchmark: stopframe's HammingIndex (compact and with tables) against FAISS IndexBinaryFlat
and IndexBinaryMultiHash.

Same machine, same realistic hashes (stopframe.index.synthetic), same queries (half near-duplicates
of listed hashes at distance 0-30, half unrelated images), radius 31. Reports build time, open time,
bytes per hash, queries/s single and batched, and recall against the flat (exhaustive) results.

    PYTHONPATH=src python benchmarks/index.py --sizes 1e6,1e7 --queries 2000 --flat-queries 100
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

from stopframe.index import HammingIndex
from stopframe.index.synthetic import HashModel, realistic_codes, realistic_queries
from stopframe.signals.pdq import hamming_matrix

RADIUS = 31


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cached_codes(n: int, seed: int, cache: Path, model: HashModel) -> tuple[np.ndarray, float]:
    path = cache / f"realistic-{n}-{seed}.npy"
    if path.exists():
        return np.load(path), float("nan")
    t = time.perf_counter()
    codes = realistic_codes(n, seed=seed, model=model)
    took = time.perf_counter() - t
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, codes)
    return codes, took


def as_sets(lims: np.ndarray, ids: np.ndarray) -> list[frozenset[int]]:
    return [frozenset(ids[lims[i] : lims[i + 1]].tolist()) for i in range(len(lims) - 1)]


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def faiss_open_seconds(index, path: Path) -> float:
    """Seconds FAISS takes to read the index back from a file (written, then removed)."""
    import faiss

    faiss.write_index_binary(index, str(path))
    _, took = timed(faiss.read_index_binary, str(path))
    path.unlink()
    return took


def bench_stopframe(
    row: dict, prefix: str, tables: bool, ids, codes, queries, args, workdir: Path
) -> None:
    """Build, query (batched and one at a time), save and reopen one stopframe index."""
    n = codes.shape[0]
    gc.collect()
    before = rss_bytes()
    index, row[f"{prefix}_build_s"] = timed(HammingIndex.build, ids, codes, 32_768, tables)
    row[f"{prefix}_rss_per_hash"] = (rss_bytes() - before) / n
    row[f"{prefix}_bytes_per_hash"] = index.nbytes / n
    index.range_search_batch(queries[:8])  # compile / warm
    index.range_search_batch(queries[:100])
    res, t = timed(index.range_search_batch, queries, RADIUS)
    row[f"{prefix}_batch_qps"] = len(queries) / t
    n_single = min(len(queries), args.single_queries)
    t = time.perf_counter()
    for i in range(n_single):
        index.range_search(queries[i], RADIUS)
    row[f"{prefix}_single_qps"] = n_single / (time.perf_counter() - t)
    row[f"{prefix}_sets"] = as_sets(res.start, res.ids)
    row["hits_per_query"] = len(res.ids) / len(queries)
    path = workdir / f"{prefix}-{n}.sfidx"
    _, row[f"{prefix}_save_s"] = timed(index.save, path)
    del index, res
    gc.collect()
    opened, row[f"{prefix}_open_s"] = timed(HammingIndex.open, path)
    _, row[f"{prefix}_open_noverify_s"] = timed(HammingIndex.open, path, False)
    opened_res = opened.range_search_batch(queries[:200], RADIUS)
    assert as_sets(opened_res.start, opened_res.ids) == row[f"{prefix}_sets"][:200], (
        "reopened index disagrees"
    )
    row[f"{prefix}_file_bytes_per_hash"] = path.stat().st_size / n
    del opened, opened_res
    path.unlink()


def bench_size(n: int, args, model: HashModel, workdir: Path) -> dict:
    import faiss

    codes, gen_s = cached_codes(n, args.seed, Path(args.cache), model)
    ids = np.arange(n, dtype=np.uint64)  # FAISS numbers rows 0..n-1; use the same ids
    queries, _ = realistic_queries(codes, args.queries, seed=args.seed + 1, model=model)
    fq = queries[: args.flat_queries]
    row: dict = {"n": n, "generate_s": gen_s}

    # -- stopframe, compact (the default) and with multi-index tables ---------------------
    for prefix, tables in (("sf", False), ("sft", True)):
        if prefix == "sf" or "tables" not in args.without:
            bench_stopframe(row, prefix, tables, ids, codes, queries, args, workdir)
    sf_sets = row.pop("sf_sets")
    if "sft_sets" in row:
        assert row.pop("sft_sets") == sf_sets, "compact and tabled indexes disagree"
    n_single = min(len(queries), args.single_queries)

    # -- FAISS flat (exhaustive reference) -------------------------------------------------
    gc.collect()
    before = rss_bytes()
    flat = faiss.IndexBinaryFlat(256)
    _, row["flat_build_s"] = timed(flat.add, codes)
    row["flat_rss_per_hash"] = (rss_bytes() - before) / n
    flat.range_search(fq[:2], RADIUS + 1)
    (lims, _, fids), t = timed(flat.range_search, fq, RADIUS + 1)  # FAISS keeps distance < radius
    row["flat_batch_qps"] = len(fq) / t
    t = time.perf_counter()
    n_flat_single = min(len(fq), max(args.flat_queries // 5, 5))
    for i in range(n_flat_single):
        flat.range_search(fq[i : i + 1], RADIUS + 1)
    row["flat_single_qps"] = n_flat_single / (time.perf_counter() - t)
    truth = as_sets(lims, fids)
    d = hamming_matrix(fq[:3], codes[: min(n, 200_000)])  # sanity: FAISS radius convention
    for i in range(3):
        assert set(np.flatnonzero(d[i] <= RADIUS).tolist()) == {x for x in truth[i] if x < 200_000}
    row["flat_open_s"] = faiss_open_seconds(flat, workdir / f"flat-{n}.faiss")
    del flat
    gc.collect()

    # -- FAISS multi-hash (16 tables of 16 bits, 1 flip: exact for r = 31 by pigeonhole) ---
    if "multihash" not in args.without:
        before = rss_bytes()
        mh = faiss.IndexBinaryMultiHash(256, 16, 16)
        mh.nflip = 1
        _, row["mh_build_s"] = timed(mh.add, codes)
        row["mh_rss_per_hash"] = (rss_bytes() - before) / n
        mh.range_search(queries[:2], RADIUS + 1)
        (mlims, _, mids), t = timed(mh.range_search, queries, RADIUS + 1)
        row["mh_batch_qps"] = len(queries) / t
        t = time.perf_counter()
        for i in range(n_single):
            mh.range_search(queries[i : i + 1], RADIUS + 1)
        row["mh_single_qps"] = n_single / (time.perf_counter() - t)
        mh_sets = as_sets(mlims, mids)
        row["mh_open_s"] = faiss_open_seconds(mh, workdir / f"mh-{n}.faiss")
        del mh
        gc.collect()

    # -- recall against the flat scan, and stopframe against multi-hash on every query ------
    want = sum(len(s) for s in truth)
    row["sf_recall"] = sum(len(a & b) for a, b in zip(sf_sets, truth, strict=False)) / max(want, 1)
    row["sf_exact_vs_flat"] = sf_sets[: len(truth)] == truth
    if "multihash" not in args.without:
        row["mh_recall"] = sum(len(a & b) for a, b in zip(mh_sets, truth, strict=False)) / max(
            want, 1
        )
        row["sf_equals_mh_all_queries"] = sf_sets == mh_sets
    row["truth_hits"] = want
    return row


def report(rows: list[dict]) -> str:
    lines = [
        "| hashes | method | build s | open s | bytes/hash | single q/s | batch q/s | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        n = f"{r['n']:,}"
        for prefix, name in (("sf", "stopframe (compact)"), ("sft", "stopframe (tables=True)")):
            if prefix + "_build_s" not in r:
                continue
            lines.append(
                f"| {n} | {name} | {r[prefix + '_build_s']:.1f} | {r[prefix + '_open_s']:.2f}"
                f" ({r[prefix + '_open_noverify_s']:.2f} unverified)"
                f" | {r[prefix + '_bytes_per_hash']:.1f} (RSS {r[prefix + '_rss_per_hash']:.0f})"
                f" | {r[prefix + '_single_qps']:,.0f} | {r[prefix + '_batch_qps']:,.0f}"
                f" | {100 * r['sf_recall']:.2f} % |"
            )
        lines.append(
            f"| {n} | FAISS IndexBinaryFlat | {r['flat_build_s']:.1f} | {r['flat_open_s']:.2f}"
            f" | 32 (RSS {r['flat_rss_per_hash']:.0f}) | {r['flat_single_qps']:,.1f}"
            f" | {r['flat_batch_qps']:,.1f} | 100 % (reference) |"
        )
        if "mh_build_s" in r:
            lines.append(
                f"| {n} | FAISS IndexBinaryMultiHash 16x16, nflip 1 | {r['mh_build_s']:.1f}"
                f" | {r['mh_open_s']:.2f}"
                f" | RSS {r['mh_rss_per_hash']:.0f} | {r['mh_single_qps']:,.0f}"
                f" | {r['mh_batch_qps']:,.0f} | {100 * r['mh_recall']:.2f} % |"
            )
    lines.append("")
    for r in rows:
        parts = [
            (
                f"{r['n']:,}: compact / flat = {r['sf_batch_qps'] / r['flat_batch_qps']:.0f}x"
                f" batched, {r['sf_single_qps'] / r['flat_single_qps']:.1f}x single"
            )
        ]
        if "sft_batch_qps" in r:
            parts.append(
                f"tables=True / flat = {r['sft_batch_qps'] / r['flat_batch_qps']:.0f}x batched, "
                f"{r['sft_single_qps'] / r['flat_single_qps']:.0f}x single"
            )
        if "mh_batch_qps" in r:
            parts.append(
                f"compact / multi-hash = {r['sf_batch_qps'] / r['mh_batch_qps']:.1f}x batched, "
                f"{r['sf_single_qps'] / r['mh_single_qps']:.1f}x single; identical to "
                f"multi-hash on all queries: {r['sf_equals_mh_all_queries']}"
            )
        parts.append(
            f"hits/query {r['hits_per_query']:.1f}; identical to flat: {r['sf_exact_vs_flat']}"
        )
        lines.append("; ".join(parts))
    return "\n".join(lines)


def histogram(model: HashModel, shared: Path) -> str:
    """Pairwise distance histogram: real corpus hashes, the reference haystack, generated hashes."""
    from stopframe.index.codes import as_codes
    from stopframe.index.synthetic import load_real_hashes

    def dist(c: np.ndarray) -> np.ndarray:
        return hamming_matrix(c, c)[np.triu_indices(c.shape[0], 1)]

    real = load_real_hashes().originals()
    columns = {f"benign corpus ({real.shape[0]})": dist(real)}
    hay = shared / "vectors/pdq/data/reg-test-input/haystack.txt"
    if hay.exists():
        codes = as_codes([x.strip() for x in hay.read_text().splitlines() if x.strip()])
        columns[f"haystack.txt ({codes.shape[0]})"] = dist(codes)
    columns["generated (1350)"] = dist(realistic_codes(1350, seed=4, model=model))
    edges = [0, 11, 21, 32, 64, 96, 104, 112, 120, 128, 136, 144, 152, 160, 257]
    head = "| distance | " + " | ".join(columns) + " |"
    lines = [head, "|---" * (len(columns) + 1) + "|"]
    for lo, hi in pairwise(edges):
        cells = [f"{100 * np.mean((d >= lo) & (d < hi)):.3f} %" for d in columns.values()]
        lines.append(f"| {lo}-{hi - 1} | " + " | ".join(cells) + " |")
    lines.append(
        "| mean / std | "
        + " | ".join(f"{d.mean():.1f} / {d.std():.1f}" for d in columns.values())
        + " |"
    )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", default="1e6,1e7", help="comma-separated list sizes, e.g. 1e6,1e7")
    p.add_argument("--queries", type=int, default=2000, help="queries for stopframe and multi-hash")
    p.add_argument("--single-queries", type=int, default=1000, help="queries timed one at a time")
    p.add_argument("--flat-queries", type=int, default=100, help="queries for the (slow) flat scan")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "stopframe-index-bench"))
    p.add_argument("--json", help="also write the raw figures here")
    p.add_argument(
        "--without",
        default="",
        help="methods to leave out where memory is short, e.g. tables,multihash (at 100M)",
    )
    p.add_argument(
        "--histogram",
        action="store_true",
        help="only print the distance histogram table",
    )
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared"))
    args = p.parse_args()
    args.without = set(filter(None, args.without.split(",")))
    model = HashModel.fit()
    if args.histogram:
        print(histogram(model, Path(args.shared)))
        return
    rows = []
    with tempfile.TemporaryDirectory(dir=args.cache if os.path.isdir(args.cache) else None) as work:
        for size in args.sizes.split(","):
            rows.append(bench_size(int(float(size)), args, model, Path(work)))
            print(json.dumps(rows[-1]), flush=True)
    print(report(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
