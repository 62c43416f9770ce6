"""The hashing methods compared by the benchmark, each behind one interface: hash a picture as a
registered original and as a query, giving rows of digest bytes plus a usable flag per row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from stopframe.bench.images import as_array
from stopframe.signals import pdq_robust as robust
from stopframe.signals.pdq import digest_matrix, pdq_from_rgb

Rows = tuple[np.ndarray, np.ndarray]  # (K x B uint8 digests, K bool usable)


@dataclass(frozen=True)
class Method:
    """A way to turn a picture into hashes; `bits` bounds the distance, `gated` notes quality
    use."""

    name: str
    label: str
    bits: int
    register: Callable[[Image.Image], Rows]
    query: Callable[[Image.Image], Rows]
    gated: bool


def _one(digest: bytes, usable: bool) -> Rows:
    return np.frombuffer(digest, dtype=np.uint8)[None, :].copy(), np.array([usable])


def _pdqhash_reference(image: Image.Image) -> Rows:
    import pdqhash

    bits, _quality = pdqhash.compute(as_array(image))
    return _one(np.packbits(bits.astype(np.uint8)).tobytes(), True)


def _phash(size: int) -> Callable[[Image.Image], Rows]:
    def run(image: Image.Image) -> Rows:
        import imagehash

        bits = imagehash.phash(image, hash_size=size).hash.reshape(-1)
        return _one(np.packbits(bits.astype(np.uint8)).tobytes(), True)

    return run


def _stopframe_pdq(image: Image.Image) -> Rows:
    value = pdq_from_rgb(as_array(image)).hash
    return _one(value.digest, value.quality >= robust.MIN_QUALITY)


def _robust(
    hasher: Callable[[np.ndarray], list[robust.RobustHash]],
) -> Callable[[Image.Image], Rows]:
    def run(image: Image.Image) -> Rows:
        items = hasher(as_array(image))
        digests = digest_matrix([item.hash.digest for item in items])
        return digests, np.ones(len(items), dtype=bool)

    return run


METHODS: tuple[Method, ...] = (
    Method(
        "pdqhash",
        "pdqhash (Meta reference, PyPI)",
        256,
        _pdqhash_reference,
        _pdqhash_reference,
        gated=False,
    ),
    Method("phash8", "imagehash pHash 8x8", 64, _phash(8), _phash(8), gated=False),
    Method("phash16", "imagehash pHash 16x16", 256, _phash(16), _phash(16), gated=False),
    Method("pdq", "stopframe PDQ (quality >= 50)", 256, _stopframe_pdq, _stopframe_pdq, gated=True),
    Method(
        "robust",
        "stopframe robust matching",
        256,
        _robust(robust.register_hashes),
        _robust(robust.query_hashes),
        gated=True,
    ),
)
