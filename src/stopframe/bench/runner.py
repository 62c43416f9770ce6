"""Run the robustness benchmark: hash the de-duplicated corpus as registered originals, hash
transformed copies as queries, score every query against every registered image with each
method, and summarise recall at fixed precision per transform, per family and overall."""

from __future__ import annotations

import hashlib
import multiprocessing
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stopframe.bench import cache
from stopframe.bench.corpus import CorpusFiles, find_corpus, near_duplicates, same_scene_drops
from stopframe.bench.images import as_array, load_rgb
from stopframe.bench.methods import METHODS, Method
from stopframe.bench.metrics import Counts, score_matrix
from stopframe.bench.transforms import Transform, build_suite, select
from stopframe.signals.pdq import pdq_from_rgb

Progress = Callable[[str, int, int], None]


@dataclass
class Config:
    """What to run; every field takes part in the cache keys that depend on it."""

    corpus: Path
    cache_dir: Path
    seed: int = 0
    per_transform: int = 50
    max_side: int = 640
    workers: int = 2
    transforms: list[str] = field(default_factory=list)


@dataclass
class HashSets:
    """Rows of digests for many pictures: row i belongs to picture owner[i]."""

    digests: dict[str, np.ndarray]
    owner: dict[str, np.ndarray]
    usable: dict[str, np.ndarray]
    seconds: dict[str, float]
    count: int

    def usable_rows(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        keep = self.usable[method]
        return self.digests[method][keep], self.owner[method][keep]

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {f"{prefix}count": np.array(self.count)}
        for m in self.digests:
            out[f"{prefix}{m}.digests"] = self.digests[m]
            out[f"{prefix}{m}.owner"] = self.owner[m]
            out[f"{prefix}{m}.usable"] = self.usable[m]
            out[f"{prefix}{m}.seconds"] = np.array(self.seconds[m])
        return out

    @classmethod
    def from_arrays(
        cls, data: dict[str, np.ndarray], methods: Iterable[Method], prefix: str = ""
    ) -> HashSets:
        names = [m.name for m in methods]
        return cls(
            {m: data[f"{prefix}{m}.digests"] for m in names},
            {m: data[f"{prefix}{m}.owner"] for m in names},
            {m: data[f"{prefix}{m}.usable"] for m in names},
            {m: float(data[f"{prefix}{m}.seconds"]) for m in names},
            int(data[f"{prefix}count"]),
        )

    @classmethod
    def collect(cls, results: list[dict | None], methods: Iterable[Method], role: str) -> HashSets:
        """Stack per-picture results (None for a picture that failed) into one set of rows."""
        digests, owner, usable, seconds = {}, {}, {}, {}
        for m in methods:
            rows = [(i, r[m.name]) for i, r in enumerate(results) if r is not None]
            width = m.bits // 8
            digests[m.name] = np.concatenate(
                [d for _, (d, _u, _s) in rows] or [np.zeros((0, width), np.uint8)]
            ).reshape(-1, width)
            owner[m.name] = np.concatenate(
                [np.full(len(d), i, np.int32) for i, (d, _u, _s) in rows] or [np.zeros(0, np.int32)]
            )
            usable[m.name] = np.concatenate([u for _, (_d, u, _s) in rows] or [np.zeros(0, bool)])
            seconds[m.name] = float(sum(s for _, (_d, _u, s) in rows))
        return cls(digests, owner, usable, seconds, len(results))


def _hash_with(methods: Iterable[Method], image, role: str) -> dict:
    out = {}
    for m in methods:
        start = time.perf_counter()
        digests, usable = (m.register if role == "register" else m.query)(image)
        out[m.name] = (digests, usable, time.perf_counter() - start)
    return out


def _original_task(args: tuple[str, int]) -> dict | None:
    path, max_side = args
    try:
        image = load_rgb(Path(path), max_side)
    except Exception:
        return None
    result = _hash_with(METHODS, image, "register")
    dihedral = pdq_from_rgb(as_array(image)).all_dihedral().values()
    result["dihedral"] = np.frombuffer(b"".join(h.digest for h in dihedral), np.uint8).reshape(
        8, 32
    )
    result["sha256"] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return result


_SUITE: dict[str, Transform] = {}


def transform_rng(seed: int, name: str, image_index: int) -> np.random.Generator:
    """The random stream of one transform applied to one picture (stable across runs)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), image_index])


def _query_task(args: tuple[str, int, int, int, list[str]]) -> list[tuple[str, int, dict | None]]:
    path, image_index, max_side, seed, names = args
    if not _SUITE:
        _SUITE.update({t.name: t for t in build_suite()})
    try:
        original = load_rgb(Path(path), max_side)
    except Exception:
        return [(name, image_index, None) for name in names]
    out: list[tuple[str, int, dict | None]] = []
    for name in names:
        edited = _SUITE[name](original, transform_rng(seed, name, image_index))
        out.append((name, image_index, _hash_with(METHODS, edited, "query")))
    return out


def pool_map(func, tasks: list, workers: int, progress: Progress | None, label: str) -> list:
    """`func` over `tasks` in order, in `workers` spawned processes (in-process when 1)."""
    results = []
    if workers <= 1:
        for i, task in enumerate(tasks):
            results.append(func(task))
            if progress:
                progress(label, i + 1, len(tasks))
        return results
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for i, result in enumerate(pool.imap(func, tasks, chunksize=4)):
            results.append(result)
            if progress:
                progress(label, i + 1, len(tasks))
    return results


@dataclass
class Registered:
    """Hashes of the corpus used as registered originals, after de-duplication."""

    natural_paths: list[Path]
    astro_paths: list[Path]
    natural: HashSets
    astro: HashSets
    kept_natural: np.ndarray  # indices into natural_paths
    kept_astro: np.ndarray
    unreadable: int
    duplicates_natural: int
    duplicates_astro: int


def _stat_list(paths: list[Path], root: Path) -> list[tuple[str, int]]:
    return [(str(p.relative_to(root)), p.stat().st_size) for p in paths]


def register_corpus(config: Config, files: CorpusFiles, progress: Progress | None) -> Registered:
    """Hash every original and astronomical photo (cached), then drop duplicates."""
    root = config.corpus
    name = "originals-" + cache.key(
        cache.code_version(),
        config.max_side,
        _stat_list(files.natural, root),
        _stat_list(files.astro, root),
    )
    data = cache.load(config.cache_dir, name)
    if data is None:
        tasks = [(str(p), config.max_side) for p in files.natural + files.astro]
        results = pool_map(_original_task, tasks, config.workers, progress, "originals")
        n = len(files.natural)
        ok = np.array([r is not None for r in results])
        dihedral = np.stack([r["dihedral"] if r else np.zeros((8, 32), np.uint8) for r in results])
        sha = np.array([r["sha256"] if r else "" for r in results])
        data = {
            **HashSets.collect(results[:n], METHODS, "register").to_arrays("natural."),
            **HashSets.collect(results[n:], METHODS, "register").to_arrays("astro."),
            "ok": ok,
            "dihedral": dihedral,
            "sha256": sha,
        }
        cache.save(config.cache_dir, name, data)
    n = len(files.natural)
    ok, dihedral, sha = data["ok"], data["dihedral"], data["sha256"]
    candidates = np.flatnonzero(ok)
    # exact duplicates by file bytes, then near-duplicates by PDQ (any dihedral variant)
    first_seen: dict[str, int] = {}
    exact = set()
    for i in candidates:
        if sha[i] in first_seen:
            exact.add(int(i))
        else:
            first_seen[str(sha[i])] = int(i)
    candidates = np.array([i for i in candidates if i not in exact], dtype=np.intp)
    near = candidates[near_duplicates(dihedral[candidates, 0], [dihedral[i] for i in candidates])]
    dropped = (
        exact
        | set(int(i) for i in near)
        | same_scene_drops(files.natural + files.astro, config.corpus)
    )
    kept = np.array([i for i in np.flatnonzero(ok) if i not in dropped], dtype=np.intp)
    return Registered(
        files.natural,
        files.astro,
        HashSets.from_arrays(data, METHODS, "natural."),
        HashSets.from_arrays(data, METHODS, "astro."),
        kept[kept < n],
        kept[kept >= n] - n,
        int((~ok).sum()),
        sum(1 for i in dropped if i < n),
        sum(1 for i in dropped if i >= n),
    )


def choose_images(
    seed: int, transform: Transform, candidates: np.ndarray, count: int
) -> np.ndarray:
    """The originals a transform is applied to: a seeded sample, sorted."""
    rng = np.random.default_rng([seed, zlib.crc32(transform.name.encode())])
    chosen = rng.choice(candidates, size=min(count, len(candidates)), replace=False)
    return np.sort(chosen)


def hash_queries(
    config: Config, registered: Registered, transforms: list[Transform], progress: Progress | None
) -> dict[str, tuple[np.ndarray, HashSets]]:
    """For each transform: the original indices it was applied to and the query hashes (cached)."""
    version = cache.code_version()
    out: dict[str, tuple[np.ndarray, HashSets]] = {}
    todo: dict[str, tuple[str, np.ndarray]] = {}
    for t in transforms:
        images = choose_images(config.seed, t, registered.kept_natural, config.per_transform)
        name = "queries-" + cache.key(
            version,
            config.seed,
            config.max_side,
            t.name,
            t.params,
            [str(registered.natural_paths[i]) for i in images],
        )
        data = cache.load(config.cache_dir, name)
        if data is not None:
            out[t.name] = (data["images"], HashSets.from_arrays(data, METHODS))
        else:
            todo[t.name] = (name, images)
    by_image: dict[int, list[str]] = {}
    for tname, (_name, images) in todo.items():
        for i in images:
            by_image.setdefault(int(i), []).append(tname)
    tasks = [
        (str(registered.natural_paths[i]), i, config.max_side, config.seed, names)
        for i, names in sorted(by_image.items())
    ]
    results = pool_map(_query_task, tasks, config.workers, progress, "queries")
    per_transform: dict[str, dict[int, dict | None]] = {t: {} for t in todo}
    for batch in results:
        for tname, image_index, result in batch:
            per_transform[tname][image_index] = result
    for tname, (name, images) in todo.items():
        sets = HashSets.collect([per_transform[tname][int(i)] for i in images], METHODS, "query")
        cache.save(config.cache_dir, name, {"images": images, **sets.to_arrays()})
        out[tname] = (images, sets)
    return out


@dataclass
class MethodScores:
    """Per transform, the counts against natural and against astronomical negatives."""

    natural: dict[str, Counts]
    astro: dict[str, Counts]


def score_transform(
    method: Method, images: np.ndarray, queries: HashSets, registered: Registered
) -> tuple[Counts, Counts]:
    """Counts for one transform and method: against other natural photos and against astro."""
    no_match = method.bits + 1
    q_digests, q_owner = queries.usable_rows(method.name)
    nat_digests, nat_owner = registered.natural.usable_rows(method.name)
    keep = np.isin(nat_owner, registered.kept_natural)
    column = np.full(len(registered.natural_paths), -1, dtype=np.int64)
    column[registered.kept_natural] = np.arange(len(registered.kept_natural))
    scores = score_matrix(
        q_digests,
        q_owner,
        len(images),
        nat_digests[keep],
        column[nat_owner[keep]],
        len(registered.kept_natural),
        no_match,
    )
    own = column[images]
    positives = scores[np.arange(len(images)), own]
    mask = np.ones_like(scores, dtype=bool)
    mask[np.arange(len(images)), own] = False
    natural = Counts.from_scores(positives, scores[mask], method.bits)
    ast_digests, ast_owner = registered.astro.usable_rows(method.name)
    keep = np.isin(ast_owner, registered.kept_astro)
    acol = np.full(max(len(registered.astro_paths), 1), -1, dtype=np.int64)
    acol[registered.kept_astro] = np.arange(len(registered.kept_astro))
    ascores = score_matrix(
        q_digests,
        q_owner,
        len(images),
        ast_digests[keep],
        acol[ast_owner[keep]],
        len(registered.kept_astro),
        no_match,
    )
    return natural, Counts.from_scores(np.zeros(0, np.int64), ascores, method.bits)


def run(config: Config, progress: Progress | None = None) -> dict:
    """Run everything and return the raw material of the report (see report.summarise)."""
    started = time.perf_counter()
    files = find_corpus(config.corpus)
    transforms = select(build_suite(), config.transforms)
    registered = register_corpus(config, files, progress)
    queries = hash_queries(config, registered, transforms, progress)
    scores = {m.name: MethodScores({}, {}) for m in METHODS}
    for t in transforms:
        images, sets = queries[t.name]
        for m in METHODS:
            natural, astro = score_transform(m, images, sets, registered)
            scores[m.name].natural[t.name] = natural
            scores[m.name].astro[t.name] = astro
        if progress:
            progress("scoring", transforms.index(t) + 1, len(transforms))
    return {
        "config": config,
        "registered": registered,
        "transforms": transforms,
        "queries": queries,
        "scores": scores,
        "seconds": time.perf_counter() - started,
    }
