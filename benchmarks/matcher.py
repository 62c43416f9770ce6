"""Matcher benchmark: a registry holding N realistic PDQ hashes, a matcher bootstrapped from it,
then single and batched lookups, media uploads, submit-to-matchable latency and worker memory.

    PYTHONPATH=src python benchmarks/matcher.py --size 10000000      # the goals are at 10M
    PYTHONPATH=src python benchmarks/matcher.py --size 100000 --seconds 3   # a quick check

Everything runs on this machine as real processes over loopback: `stopframe serve` (registry),
`stopframe matcher sync` (the bootstrap), `stopframe matcher serve` (sync child + API workers),
and this script as the load generator, whose CPU is counted against the same cores. Goals
(docs/benchmarks.md): p99 <= 20 ms at 1,000 single lookups/s; >= 20,000 hashes/s batched;
/match/media >= 80 % of `stopframe hash`; submit -> matchable <= 2 s; each extra API worker
<= 100 MB; bootstrap <= 2 GB RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import closed_loop, http_request, open_loop
from stopframe.apps.registry.services import banks, keys
from stopframe.apps.registry.state import open_registry
from stopframe.apps.registry.terms import Scope, SuggestedAction
from stopframe.config import RegistrySettings
from stopframe.hashing.batch import hash_paths
from stopframe.hashing.files import HashOptions, with_limits
from stopframe.index.synthetic import realistic_codes, realistic_queries
from stopframe.samples import sample_images

BANK = "bench-verified"
CHUNK = 200_000
PAGE = 20_000  # rows per insert batch
GOALS = {"p99_ms_at_1000": 20.0, "batch_hashes_s": 20_000, "media_ratio": 0.8,
         "submit_s": 2.0, "extra_worker_mb": 100.0, "bootstrap_rss_gb": 2.0}  # fmt: skip


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def say(text: str) -> None:
    print(text, flush=True)


# -- the registry ------------------------------------------------------------------------------
def populate_registry(data_dir: Path, size: int) -> tuple[str, str, dict[str, str], np.ndarray]:
    """A registry with `size` PDQ entries in one verified block bank; returns (consumer key,
    submitter key, pinned keys, a sample of the listed codes for queries)."""
    registry = open_registry(RegistrySettings(data_dir=data_dir))
    with registry.db.write() as session:
        bank = banks.create_bank(session, BANK, ["pdq"], "bench", verified=True,
                                 action=SuggestedAction.BLOCK)  # fmt: skip
        bank_id = bank.id
        consumer = keys.create_key(session, "platform", [Scope.READ, Scope.REPORT], "bench").key
        submitter = keys.create_key(session, "intake", [Scope.SUBMIT], "bench").key
    pinned = {k["key_id"]: k["public_key"] for k in registry.keyring.published()}
    registry.db.dispose()
    db = sqlite3.connect(data_dir / "registry.sqlite")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now = "2026-11-30 00:00:00.000000+00:00"
    started = time.perf_counter()
    codes, seed, want = np.zeros((0, 32), np.uint8), 0, size
    while codes.shape[0] < size:  # families repeat values: draw until `size` distinct ones
        drawn = [realistic_codes(min(CHUNK, want - lo), seed=seed + lo // CHUNK)
                 for lo in range(0, want, CHUNK)]  # fmt: skip
        seed += 1000
        codes = np.concatenate([codes, *drawn])
        keys_view = np.ascontiguousarray(codes).view(np.dtype((np.void, 32))).ravel()
        _, first = np.unique(keys_view, return_index=True)  # a bank holds each value once
        codes = codes[np.sort(first)]
        want = max(CHUNK, int((size - codes.shape[0]) * 1.2))
    codes = codes[:size]
    count = codes.shape[0]
    rng = np.random.default_rng(11)
    sample = codes[rng.choice(count, min(count, 100_000), replace=False)]
    for lo in range(0, count, CHUNK):
        values = [bytes(c).hex() for c in codes[lo : lo + CHUNK]]
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO entries (id, bank_id, case_id, owner, kind, value, digest, quality,"
            " created_at, withdrawn_at) VALUES (?, ?, NULL, 'import', 'pdq', ?, ?, 90, ?, NULL)",
            ((lo + i + 1, bank_id, v, hashlib.sha256(v.encode()).hexdigest(), now)
             for i, v in enumerate(values)),
        )  # fmt: skip
        db.executemany(
            "INSERT INTO changes (sequence, entry_id, op, created_at) VALUES (?, ?, 'add', ?)",
            ((lo + i + 1, lo + i + 1, now) for i in range(len(values))),
        )
        db.execute("UPDATE counters SET value = ? WHERE name = 'feed'", (lo + len(values),))
        db.execute("COMMIT")
    db.close()
    say(f"registry: {count:,} distinct entries written in {time.perf_counter() - started:.0f} s")
    return consumer, submitter, pinned, sample


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, stopped (SIGTERM, then SIGKILL) at the end of the block."""
    child = subprocess.Popen(args, env=env, start_new_session=True)
    try:
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def wait_for(url: str, seconds: float, ok: Callable[[httpx.Response], bool]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ok(httpx.get(url, timeout=5)):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} not ready after {seconds} s")


# -- memory ------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for child in _children(current):
            found.append(child)
            todo.append(child)
    return found


def memory_mb(pid: int) -> dict[str, float]:
    """RSS, PSS (shared pages divided among their users) and USS (private) of one process."""
    values = {"rss": 0.0, "pss": 0.0, "uss": 0.0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            kb = float(rest.split()[0]) if rest.split() and rest.split()[0].isdigit() else 0.0
            if name == "Rss":
                values["rss"] = kb / 1024
            elif name == "Pss":
                values["pss"] = kb / 1024
            elif name in ("Private_Clean", "Private_Dirty"):
                values["uss"] += kb / 1024
    except OSError:
        pass
    return values


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def peak_rss_mb(child: subprocess.Popen[bytes]) -> tuple[float, float]:
    """Wait for `child`, polling its peak RSS (VmHWM); return (seconds, peak MB)."""
    started, peak = time.perf_counter(), 0.0
    while child.poll() is None:
        try:
            for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, float(line.split()[1]) / 1024)
        except OSError:
            pass
        time.sleep(0.2)
    return time.perf_counter() - started, peak


# -- media -------------------------------------------------------------------------------------
def make_photos(folder: Path, count: int) -> list[Path]:
    """Benign 1080p JPEGs: the shipped sample photos, scaled up, cropped and tinted."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = [Image.open(p).convert("RGB") for p in sample_images()]
    out = []
    rng = np.random.default_rng(5)
    for i in range(count):
        image = sources[i % len(sources)]
        w, h = image.size
        box = (int(rng.integers(0, w // 10)), int(rng.integers(0, h // 10)), w, h)
        big = image.crop(box).resize((1920, 1080), Image.Resampling.BICUBIC)
        tint = np.asarray(big, np.float32) * rng.uniform(0.8, 1.1, 3)
        path = folder / f"photo-{i:03d}.jpg"
        Image.fromarray(np.clip(tint, 0, 255).astype(np.uint8)).save(path, quality=90)
        out.append(path)
    return out


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = "stopframebench"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"u.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()  # fmt: skip
    return (
        head + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


# -- the run -----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per load step")
    parser.add_argument("--rates", default="250,500,1000,2000")
    parser.add_argument("--workers", type=int, default=2, help="API workers for the load steps")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--work", type=Path, default=None, help="keep files here")
    parser.add_argument(
        "--near",
        type=float,
        default=0.02,
        help="share of lookups that are near copies of listed pictures",
    )
    parser.add_argument("--reuse", action="store_true",
                        help="reuse an earlier run's registry and matcher in --work")  # fmt: skip
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="stopframe-matcher-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    say(f"machine: {os.cpu_count()} CPUs; work dir {work}; size {args.size:,}")
    results: dict[str, object] = {"size": args.size}

    saved = work / "bench.json"
    if args.reuse and saved.exists():
        kept = json.loads(saved.read_text())
        consumer, submitter, pinned = kept["consumer"], kept["submitter"], kept["pinned"]
        listed = np.load(work / "listed.npy", allow_pickle=False)
        reg_port = int(kept["port"])  # the matcher's store is bound to the registry's URL
    else:
        consumer, submitter, pinned, listed = populate_registry(work / "registry", args.size)
        reg_port = free_port()
        saved.write_text(json.dumps({"consumer": consumer, "submitter": submitter,
                                     "pinned": pinned, "port": reg_port}))  # fmt: skip
        np.save(work / "listed.npy", listed, allow_pickle=False)
    trust = work / "trust.json"
    trust.write_text(json.dumps(pinned))
    base_env = dict(os.environ)
    base_env.update({
        "STOPFRAME_DATA_DIR": str(work / "registry"), "STOPFRAME_PORT": str(reg_port),
        "STOPFRAME_KEY_RATE": "1000000", "STOPFRAME_KEY_BURST": "1000000",
        "STOPFRAME_CASE_RATE": "1000000", "STOPFRAME_CASE_BURST": "1000000",
        "STOPFRAME_REGISTRY_KEY": consumer,
    })  # fmt: skip
    registry_url = f"http://127.0.0.1:{reg_port}"
    stopframe = [sys.executable, "-m", "stopframe"]
    matcher_dir = work / "matcher"
    source_args = [
        "--registry",
        registry_url,
        "--trust",
        str(trust),
        "--data-dir",
        str(matcher_dir),
    ]
    with process([*stopframe, "serve"], base_env):
        wait_for(f"{registry_url}/v1/health", 60, lambda r: r.status_code == 200)
        if not args.reuse:
            with process([*stopframe, "matcher", "sync", *source_args], base_env) as sync:
                seconds, peak = peak_rss_mb(sync)
            results["bootstrap_s"], results["bootstrap_peak_rss_mb"] = seconds, peak
            say(f"bootstrap: {seconds:.0f} s, peak RSS {peak:,.0f} MB (exit {sync.returncode})")
        key = subprocess.run(
            [*stopframe, "matcher", "create-key", "--scope", "match",
             "--data-dir", str(matcher_dir)],
            env=base_env, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        results.update(serve_phases(args, stopframe, source_args, base_env, key, listed,
                                    registry_url, submitter, work))  # fmt: skip
        results.update(memory_phase(stopframe, source_args, base_env, key, listed, args.near))
    say(json.dumps(results, indent=1, default=str))


def serve_env(base_env: dict[str, str], port: int, workers: int) -> dict[str, str]:
    env = dict(base_env)
    env.update({"STOPFRAME_MATCHER_PORT": str(port), "STOPFRAME_MATCHER_WORKERS": str(workers),
                "STOPFRAME_SYNC_WAIT_S": "20"})  # fmt: skip
    return env


def single_body(codes: np.ndarray) -> Callable[[int], bytes]:
    bodies = [json.dumps({"signals": [{"kind": "pdq", "value": bytes(c).hex(), "quality": 90}]})
              .encode() for c in codes]  # fmt: skip
    return lambda i: bodies[i % len(bodies)]


def serve_phases(
    args: argparse.Namespace, stopframe: list[str], source_args: list[str],
    base_env: dict[str, str], key: str, listed: np.ndarray, registry_url: str,
    submitter: str, work: Path,
) -> dict[str, object]:  # fmt: skip
    out: dict[str, object] = {}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    queries, source = realistic_queries(listed, 20_000, near_fraction=args.near)
    say(f"lookups: {np.mean(source >= 0):.1%} near copies of listed pictures, the rest unrelated")
    with process([*stopframe, "matcher", "serve", *source_args],
                 serve_env(base_env, port, args.workers)):  # fmt: skip
        wait_for(f"{url}/readyz", 300, lambda r: r.status_code == 200)
        singles = [http_request("/v1/match/hashes", b, "application/json", key)
                   for b in map(single_body(queries), range(len(queries)))]  # fmt: skip
        open_loop("127.0.0.1", port, 300, 2, lambda i: singles[i % len(singles)])  # warm up
        for rate in (float(r) for r in args.rates.split(",")):
            res = open_loop("127.0.0.1", port, rate, args.seconds,
                            lambda i: singles[i % len(singles)])  # fmt: skip
            out[f"single_{int(rate)}"] = {
                "achieved": round(res.achieved), "p50_ms": round(res.median_ms(), 2),
                "p99_ms": round(res.percentile(99), 2), "errors": res.errors,
            }  # fmt: skip
            say(f"single lookups offered {rate:,.0f}/s: achieved {res.achieved:,.0f}/s, "
                f"p50 {res.median_ms():.1f} ms, p99 {res.percentile(99):.1f} ms, "
                f"errors {res.errors}")  # fmt: skip
        batch = 1000
        batches = [
            http_request("/v1/match/hashes", json.dumps({"signals": [
                {"kind": "pdq", "value": bytes(c).hex(), "quality": 90}
                for c in queries[lo : lo + batch]]}).encode(), "application/json", key)
            for lo in range(0, len(queries), batch)
        ]  # fmt: skip
        res = closed_loop("127.0.0.1", port, args.workers, args.seconds,
                          lambda i: batches[i % len(batches)])  # fmt: skip
        out["batch_hashes_s"] = round(res.achieved * batch)
        say(f"batched lookups ({batch}/request): {res.achieved * batch:,.0f} hashes/s, "
            f"p50 {res.median_ms():.0f} ms per request")  # fmt: skip
        out.update(media_phase(args, stopframe, port, key, base_env, work))
        out.update(latency_phase(registry_url, submitter, url, key))
    return out


def media_phase(
    args: argparse.Namespace, stopframe: list[str], port: int, key: str,
    base_env: dict[str, str], work: Path,
) -> dict[str, object]:  # fmt: skip
    photos = make_photos(work / "photos", args.photos)
    started = time.perf_counter()
    subprocess.run([*stopframe, "hash", "--jobs", str(args.workers), str(work / "photos")],
                   env=base_env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    cli_rate = len(photos) / (time.perf_counter() - started)
    options = with_limits(HashOptions())
    started = time.perf_counter()
    records = list(hash_paths(photos, options, args.workers))
    library_rate = len(records) / (time.perf_counter() - started)
    uploads = []
    for path in photos:
        body, ctype = multipart(path.read_bytes())
        uploads.append(http_request("/v1/match/media", body, ctype, key))
    res = closed_loop("127.0.0.1", port, 2 * args.workers, max(args.seconds, 10),
                      lambda i: uploads[i % len(uploads)])  # fmt: skip
    say(f"/match/media 1080p JPEG: {res.achieved:.1f} uploads/s (p50 {res.median_ms():.0f} ms); "
        f"stopframe hash --jobs {args.workers}: {cli_rate:.1f} images/s (ratio "
        f"{res.achieved / cli_rate:.2f}); hash_paths jobs={args.workers}: {library_rate:.1f} "
        f"images/s (ratio {res.achieved / library_rate:.2f}); errors {res.errors}")  # fmt: skip
    return {"media_uploads_s": round(res.achieved, 1), "cli_images_s": round(cli_rate, 1),
            "library_images_s": round(library_rate, 1),
            "media_ratio_cli": round(res.achieved / cli_rate, 2),
            "media_ratio_library": round(res.achieved / library_rate, 2)}  # fmt: skip


def latency_phase(registry_url: str, submitter: str, url: str, key: str) -> dict[str, object]:
    """Register a new hash through a case and poll the matcher until it matches."""
    auth = {"Authorization": f"Bearer {submitter}"}
    rng = np.random.default_rng(99)
    times = []
    with httpx.Client(timeout=30) as http:
        case = http.post(f"{registry_url}/v1/cases", headers=auth).json()
        case_auth = {**auth, "X-Case-PIN": case["pin"]}
        for _ in range(5):
            value = bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex()
            body = {"signals": [{"kind": "pdq", "value": value, "quality": 90}]}
            started = time.perf_counter()
            answer = http.post(f"{registry_url}/v1/cases/{case['case_number']}/entries",
                               headers=case_auth, json=body)  # fmt: skip
            answer.raise_for_status()
            while True:
                found = http.post(f"{url}/v1/match/hashes", json=body,
                                  headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
                if found["results"][0]["matches"]:
                    break
                if time.perf_counter() - started > 60:
                    raise RuntimeError("a submitted hash did not become matchable in 60 s")
                time.sleep(0.02)
            times.append(time.perf_counter() - started)
            time.sleep(0.5)
    say(f"submit -> matchable: median {statistics.median(times):.2f} s, max {max(times):.2f} s "
        f"({', '.join(f'{t:.2f}' for t in times)})")  # fmt: skip
    return {"submit_s_median": round(statistics.median(times), 2),
            "submit_s_max": round(max(times), 2)}  # fmt: skip


def memory_phase(
    stopframe: list[str], source_args: list[str], base_env: dict[str, str], key: str,
    listed: np.ndarray, near: float,
) -> dict[str, object]:  # fmt: skip
    out: dict[str, object] = {}
    queries, _ = realistic_queries(listed, 4000, near_fraction=near, seed=3)
    singles = [http_request("/v1/match/hashes", b, "application/json", key)
               for b in map(single_body(queries), range(len(queries)))]  # fmt: skip
    for workers in (1, 4):
        port = free_port()
        with process([*stopframe, "matcher", "serve", *source_args],
                     serve_env(base_env, port, workers)) as serve:  # fmt: skip
            wait_for(f"http://127.0.0.1:{port}/readyz", 300, lambda r: r.status_code == 200)
            closed_loop("127.0.0.1", port, 8, 8.0, lambda i: singles[i % len(singles)])
            api = [p for p in [serve.pid, *descendants(serve.pid)]
                   if "matcher sync" not in cmdline(p)]  # fmt: skip
            mem = [memory_mb(p) for p in api]
            total = {k: round(sum(m[k] for m in mem)) for k in ("rss", "pss", "uss")}
            out[f"memory_{workers}_workers"] = {"processes": len(api), **total}
            say(f"{workers} API worker(s): {len(api)} processes, RSS {total['rss']:,} MB, "
                f"PSS {total['pss']:,} MB, private {total['uss']:,} MB")  # fmt: skip
    one, four = out["memory_1_workers"], out["memory_4_workers"]
    assert isinstance(one, dict) and isinstance(four, dict)
    for k in ("rss", "pss", "uss"):
        out[f"extra_worker_{k}_mb"] = round((four[k] - one[k]) / 3)
    say(f"each extra worker adds: RSS {out['extra_worker_rss_mb']} MB, PSS "
        f"{out['extra_worker_pss_mb']} MB, private {out['extra_worker_uss_mb']} MB")  # fmt: skip
    return out


if __name__ == "__main__":
    main()
