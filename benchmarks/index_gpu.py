"""Benchmark: stopframe's GPU range scan (TorchFlatIndex) at up to 1B realistic hashes on one GPU.

The Triton tensor-core kernel against the popcount kernel (XOR, SWAR popcount and sum in torch
operations, as a brute-force binary scan on ordinary GPU cores does), same GPU, same codes, radius
31. The codes are made on the GPU by the latent model of `stopframe.index.synthetic` (families of
near-duplicates, median-thresholded latent vectors, a little low-quality collapse): the CPU
generator would take hours at 1B. Queries: half near-duplicates of listed codes (distance 0-30),
half unrelated codes from the same model. Every check batch is compared hit for hit between the
two kernels.

    python benchmarks/index_gpu.py --size 1e9 --queries 1024,4096,16384

Needs torch with a CUDA device and Triton (the `gpu` extra on a CUDA machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from stopframe.index import gpu
from stopframe.index.synthetic import HashModel, load_real_hashes

RADIUS = 31
CHUNK = 1 << 21  # codes generated per step


def pack(bits: torch.Tensor) -> torch.Tensor:
    """bool (n, 256) -> int32 (n, 8), the inverse of `gpu.unpack_bits`."""
    shifts = torch.arange(32, device=bits.device, dtype=torch.int64)
    words = (bits.reshape(-1, 8, 32).long() << shifts).sum(dim=2)
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)


def signs_of(codes: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (n, 32) codes -> float ±1 (n, 256) in the bit order of `gpu.unpack_bits`."""
    words = torch.from_numpy(np.ascontiguousarray(codes).view(np.int32).copy())
    return gpu.unpack_bits(words.to(device)).float() * 2 - 1


def realistic_words(n: int, seed: int, model: HashModel, device: torch.device) -> torch.Tensor:
    """n PDQ-like codes as int32 (n, 8) on the device, by the model `realistic_codes` uses."""
    gen = torch.Generator(device=device).manual_seed(seed)
    torch.manual_seed(seed)  # the gamma sampler draws from torch's global generator
    mean = torch.from_numpy(model.mean).to(device)
    directions = torch.from_numpy(model.directions).to(device)
    scales = torch.from_numpy(model.scales).to(device)
    real = signs_of(load_real_hashes().originals(), device)
    low = pack(signs_of(model.low_quality, device) > 0)
    out = torch.empty((n, 8), dtype=torch.int32, device=device)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen, device=device)

    k = np.arange(1, 1001, dtype=np.float64)
    zipf = torch.from_numpy(np.cumsum(k**-3.0) / np.sum(k**-3.0)).to(device)
    zipf[-1] = 1.0  # sizes over 1000 are capped at 1000, as `realistic_codes` caps them
    gamma = torch.distributions.Gamma(
        torch.tensor(1.5, device=device), torch.tensor(0.5, device=device)
    )

    def uniform(m: int) -> torch.Tensor:
        return torch.rand(m, generator=gen, device=device)

    for lo in range(0, n, CHUNK):
        m = min(CHUNK, n - lo)
        n_collapse = round(0.005 * m)
        n_main = m - n_collapse
        sizes = torch.searchsorted(zipf, uniform(n_main)) + 1  # Zipf(3), capped at 1000
        f = int(torch.searchsorted(sizes.cumsum(0), n_main)) + 1
        sizes = sizes[:f]
        sizes[-1] -= int(sizes.sum()) - n_main
        first = torch.zeros(n_main, dtype=torch.bool, device=device)
        first[sizes.cumsum(0) - sizes] = True
        d_target = torch.where(
            uniform(n_main) < 0.5, gamma.sample((n_main,)), 4 + 36 * uniform(n_main)
        )
        noise = torch.tan(torch.pi * d_target.clamp(0, 120) / 256)  # noise_for_distance
        scale = torch.where(first, 0.0, noise)
        base = (
            mean
            + (normal(f, scales.shape[0]) * scales) @ directions
            + model.residual * normal(f, 256)
        )
        own = uniform(f) < 0.05
        pick = torch.randint(0, real.shape[0], (f,), generator=gen, device=device)
        base = torch.where(own[:, None], real[pick] * normal(f, 256).abs(), base)
        z = base.repeat_interleave(sizes, dim=0, output_size=n_main)
        spread = z.abs().mean(dim=1, keepdim=True)
        z += scale[:, None] * spread * normal(n_main, 256)
        bits = z > z.median(dim=1, keepdim=True).values  # 128 ones, as PDQ's median gives
        words = pack(bits)
        if n_collapse:
            pick = torch.randint(0, low.shape[0], (n_collapse,), generator=gen, device=device)
            half = torch.randint(0, 5, (n_collapse,), generator=gen, device=device)
            words = torch.cat([words, near_duplicates(low[pick], half, gen)])
        out[lo : lo + m] = words[torch.randperm(m, generator=gen, device=device)]
    return out


def near_duplicates(
    words: torch.Tensor, half_distance: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """Copies at distance exactly 2 * half_distance: that many ones swapped with zeros."""
    bits = gpu.unpack_bits(words)
    keys = torch.rand(bits.shape, generator=gen, device=bits.device)
    flip = torch.zeros_like(bits)
    positions = torch.arange(256, device=bits.device).expand_as(keys)
    for value in (True, False):
        order = torch.where(bits == value, keys, 2.0).argsort(dim=1)
        rank = torch.empty_like(order).scatter_(1, order, positions)
        flip |= (rank < half_distance[:, None]) & (bits == value)
    return pack(bits ^ flip)


def realistic_queries(words: torch.Tensor, n: int, seed: int, model: HashModel) -> np.ndarray:
    """Half near-duplicates of listed codes (even distances 0-30), half unrelated: uint8 (n, 32)."""
    device = words.device
    gen = torch.Generator(device=device).manual_seed(seed)
    n_near = n // 2
    rows = torch.randint(0, words.shape[0], (n_near,), generator=gen, device=device)
    half = torch.randint(0, RADIUS // 2 + 1, (n_near,), generator=gen, device=device)
    near = near_duplicates(words[rows], half, gen)
    other = realistic_words(n - n_near, seed + 7919, model, device)
    both = torch.cat([near, other])[torch.randperm(n, generator=gen, device=device)]
    return both.cpu().numpy().view(np.uint8)


def timed(index: gpu.TorchFlatIndex, queries: np.ndarray, repeat: int):
    """Median seconds of `repeat` batch searches, and the last result."""
    times = []
    for _ in range(repeat):
        torch.cuda.synchronize()
        t = time.perf_counter()
        result = index.range_search_batch(queries, RADIUS)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def scan_seconds(index: gpu.TorchFlatIndex, queries: np.ndarray) -> float:
    """Seconds of the device scan alone (no host transfer or sort), by CUDA events."""
    q = torch.from_numpy(queries.view(np.int64).reshape(-1, 4).copy()).to(index.device)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    index._scan_triton(q, RADIUS, 0)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3


def same(a, b) -> bool:
    return all(
        np.array_equal(x, y)
        for x, y in ((a.start, b.start), (a.ids, b.ids), (a.distances, b.distances))
    )


KNOBS = ("_BLOCK_ROWS", "_BLOCK_QUERIES", "_NUM_WARPS", "_NUM_STAGES")


def use_config(config: tuple[int, ...]) -> None:
    for knob, value in zip(KNOBS, config, strict=False):
        setattr(gpu, knob, value)


def sweep(words, ids, queries, configs: list[tuple[int, ...]]) -> list[dict]:
    """Queries/s of the Triton kernel per (block rows, block queries, warps, stages)."""
    rows = []
    for config in configs:
        use_config(config)
        index = gpu.TorchFlatIndex(ids, words, kernel="triton")
        index.range_search_batch(queries[:64], RADIUS)  # compile
        took, _ = timed(index, queries, 3)
        rows.append({"config": "x".join(map(str, config)), "qps": queries.shape[0] / took})
        print("sweep", rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=1e9)
    ap.add_argument("--queries", default="1024,4096,16384")
    ap.add_argument("--check-queries", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--sweep",
        default="",
        help="kernel configs to time first, e.g. 128x128x4x2,256x128x8x2"
        " (block rows x block queries x warps x stages); the fastest is used",
    )
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    device = torch.device("cuda")
    props = torch.cuda.get_device_properties(device)
    n = int(args.size)
    batches = [int(q) for q in args.queries.split(",")]
    model = HashModel.fit()
    report: dict = {"device": props.name, "size": n, "radius": RADIUS}

    t = time.perf_counter()
    words = realistic_words(n, 0, model, device)
    torch.cuda.synchronize()
    report["generate_s"] = time.perf_counter() - t
    ids = np.arange(n, dtype=np.uint64)
    queries = realistic_queries(words, max(batches), 1, model)
    print(f"{props.name}: {n:,} codes made in {report['generate_s']:.1f} s", flush=True)

    if args.sweep:
        configs = [tuple(int(v) for v in c.split("x")) for c in args.sweep.split(",")]
        report["sweep"] = sweep(words, ids, queries[: batches[0]], configs)
        best = max(report["sweep"], key=lambda r: r["qps"])
        use_config(tuple(int(v) for v in best["config"].split("x")))

    fast = gpu.TorchFlatIndex(ids, words, kernel="triton")
    slow = gpu.TorchFlatIndex(ids, words, kernel="torch")
    fast.range_search_batch(queries[:64], RADIUS)  # compile and warm up
    report["kernel"] = "x".join(str(getattr(gpu, knob)) for knob in KNOBS)

    check = queries[: args.check_queries]
    slow_s, expected = timed(slow, check, 1)
    _, got = timed(fast, check, 1)
    report["check"] = {
        "queries": int(check.shape[0]),
        "hits": len(got.ids),
        "equal": same(got, expected),
        "popcount_qps": check.shape[0] / slow_s,
    }
    print("check", report["check"], flush=True)

    report["batches"] = []
    for q in batches:
        took, result = timed(fast, queries[:q], args.repeat)
        device_s = scan_seconds(fast, queries[:q])
        row = {
            "queries": q,
            "seconds": took,
            "qps": q / took,
            "device_seconds": device_s,
            "hits": len(result.ids),
            "median_hits_per_query": float(np.median(np.diff(result.start))),
            "vs_popcount": (q / took) / report["check"]["popcount_qps"],
        }
        report["batches"].append(row)
        print("batch", row, flush=True)

    print(json.dumps(report, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    print(f"\n{props.name}, {n:,} codes, radius {RADIUS}")
    print(
        f"{'queries':>8} {'seconds':>8} {'device s':>8} {'queries/s':>10}"
        f" {'x popcount':>10} {'hits':>10}"
    )
    for row in report["batches"]:
        print(
            f"{row['queries']:>8} {row['seconds']:>8.3f} {row['device_seconds']:>8.3f}"
            f" {row['qps']:>10,.0f} {row['vs_popcount']:>10.1f} {row['hits']:>10,}"
        )
    c = report["check"]
    print(
        f"popcount kernel: {c['popcount_qps']:,.1f} queries/s;"
        f" {c['queries']} check queries equal hit for hit: {c['equal']}"
    )


if __name__ == "__main__":
    main()
