"""False matches of robust matching on a whole corpus: every picture's query set against every
other picture's registered set (natural and astronomical photos, near-duplicates excluded), and
how many low-quality hashes the quality gate keeps out (and how many of those would collide)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stopframe.bench import cache
from stopframe.bench.corpus import find_corpus, near_duplicates, same_scene_drops
from stopframe.bench.images import as_array, load_rgb
from stopframe.bench.metrics import score_matrix
from stopframe.bench.runner import pool_map
from stopframe.matching.robust import MATCH_DISTANCE, NO_MATCH
from stopframe.signals import pdq_robust as robust
from stopframe.signals.pdq import digest_matrix, hamming_matrix, pdq_from_block64, pdq_from_rgb

_FORMAT = 2  # bump when the arrays cached by _hash_corpus change


@dataclass(frozen=True)
class FalseMatchReport:
    """Counts over all unrelated (query picture, registered picture) pairs."""

    natural: int
    astro: int
    duplicates_dropped: int
    pairs: int
    false_matches: int
    closest_unrelated: int
    lowest_used_quality: int  # smallest quality among all hashes robust matching kept
    low_quality_pictures: int  # pictures whose main hash is below the quality gate
    unregistrable_pictures: int  # pictures with no hash left after the gate (never matchable)
    low_quality_closest: int  # closest unrelated picture to a low-quality main hash, ungated
    usable_closest: int  # the same for pictures whose main hash passes the gate


def _task(args: tuple[str, int]) -> dict | None:
    path, max_side = args
    try:
        rgb = as_array(load_rgb(Path(path), max_side))
    except Exception:
        return None
    plain = pdq_from_rgb(rgb)  # for near-duplicate removal, as in the benchmark
    # the picture's main robust hash before the quality gate, to show what the gate keeps out
    ungated = pdq_from_block64(robust.canonical_block(robust.prepare(rgb)[0]))
    registered, query = robust.register_hashes(rgb), robust.query_hashes(rgb)
    return {
        "register": digest_matrix([h.hash.digest for h in registered]),
        "query": digest_matrix([h.hash.digest for h in query]),
        "used_quality": min([h.hash.quality for h in registered + query], default=100),
        "dihedral": digest_matrix([h.digest for h in plain.all_dihedral().values()]),
        "ungated": digest_matrix([h.digest for h in ungated.all_dihedral().values()]),
        "quality": ungated.quality,
    }


def _hash_corpus(
    paths: list[Path], max_side: int, workers: int, cache_dir: Path
) -> dict[str, np.ndarray]:
    name = "falsematch-" + cache.key(
        _FORMAT, cache.code_version(), max_side, [(str(p), p.stat().st_size) for p in paths]
    )
    data = cache.load(cache_dir, name)
    if data is None:
        results = pool_map(_task, [(str(p), max_side) for p in paths], workers, None, "hash")
        data = {"ok": np.array([r is not None for r in results])}
        for key in ("register", "query", "dihedral", "ungated"):
            rows = [r[key] if r else np.zeros((0, 32), np.uint8) for r in results]
            data[f"{key}.digests"] = np.concatenate(rows).reshape(-1, 32)
            data[f"{key}.owner"] = np.concatenate(
                [np.full(len(r), i, np.int32) for i, r in enumerate(rows)]
            )
        data["quality"] = np.array([r["quality"] if r else 0 for r in results])
        data["used_quality"] = np.array([r["used_quality"] if r else 100 for r in results])
        cache.save(cache_dir, name, data)
    return data


def measure(
    corpus: Path,
    cache_dir: Path,
    max_side: int = 256,
    workers: int = 2,
    threshold: int = MATCH_DISTANCE,
) -> FalseMatchReport:
    """Hash the corpus (cached) and count false matches at `threshold` among unrelated pictures."""
    files = find_corpus(corpus)
    paths = files.natural + files.astro
    data = _hash_corpus(paths, max_side, workers, cache_dir)
    n = len(paths)
    ok = data["ok"]
    dihedral = data["dihedral.digests"].reshape(n, 8, 32)
    candidates = np.flatnonzero(ok)
    drop = set(
        candidates[
            near_duplicates(dihedral[candidates, 0], [dihedral[i] for i in candidates])
        ].tolist()
    )
    drop |= same_scene_drops(paths, corpus)
    kept = np.array([i for i in candidates if i not in drop], dtype=np.intp)
    column = np.full(n, -1, np.int64)
    column[kept] = np.arange(len(kept))

    def rows(role: str) -> tuple[np.ndarray, np.ndarray]:
        owner = data[f"{role}.owner"]
        keep = np.isin(owner, kept)
        return data[f"{role}.digests"][keep], column[owner[keep]]

    q_digests, q_owner = rows("query")
    r_digests, r_owner = rows("register")
    scores = score_matrix(q_digests, q_owner, len(kept), r_digests, r_owner, len(kept), NO_MATCH)
    np.fill_diagonal(scores, NO_MATCH)
    unrelated = len(kept) * (len(kept) - 1)
    # the gate: how close the main hashes of low-quality pictures come to unrelated pictures if
    # they were used, against the same figure for pictures that pass the gate
    quality = data["quality"][kept]
    ungated = data["ungated.digests"].reshape(n, 8, 32)[kept]
    closest = np.full(len(kept), NO_MATCH)
    for i in range(len(kept)):
        dist = hamming_matrix(ungated[i], ungated[:, 0]).min(axis=0)
        dist[i] = NO_MATCH
        closest[i] = dist.min()
    low = quality < robust.MIN_QUALITY
    return FalseMatchReport(
        natural=len(files.natural),
        astro=len(files.astro),
        duplicates_dropped=len(drop),
        pairs=unrelated,
        false_matches=int((scores <= threshold).sum()),
        closest_unrelated=int(scores.min()) if scores.size else NO_MATCH,
        lowest_used_quality=int(data["used_quality"][kept].min()),
        low_quality_pictures=int(low.sum()),
        unregistrable_pictures=int(len(kept) - len(np.unique(r_owner))),
        low_quality_closest=int(closest[low].min()) if low.any() else NO_MATCH,
        usable_closest=int(closest[~low].min()) if (~low).any() else NO_MATCH,
    )
