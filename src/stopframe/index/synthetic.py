"""Realistic PDQ-like hash sets for tests and benchmarks, modelled on real hashes of benign photos.

Real PDQ hashes are not uniform: each has exactly 128 one-bits (a median threshold of 256 DCT
coefficients), bits are correlated (shared low-frequency structure), images come in families of
near-duplicates (re-encodes, resizes, edits) and low-quality images (dark, flat) collapse onto a
few hashes. The model: a latent Gaussian "coefficient" vector per image whose covariance is the
leading principal components of the real hashes' bits, thresholded at its own median (so 128
ones, exactly as PDQ does); near-duplicates add small latent noise, so the bits nearest the
median flip first, as they do under real transforms; collapsed images are tiny perturbations of
real low-quality hashes. Everything is vectorised and seeded: 10M codes take well under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from stopframe.index.codes import as_codes

_COMPONENTS = 32
_BLOCK = 1 << 17


@dataclass(frozen=True)
class RealHashes:
    """The committed sample: originals with quality and transformed copies (image, variant)."""

    codes: NDArray[np.uint8]  # (n, 32)
    quality: NDArray[np.int64]  # (n,)
    image: NDArray[np.str_]  # (n,)
    variant: NDArray[np.str_]  # (n,)

    def originals(self) -> NDArray[np.uint8]:
        """Codes of the untransformed images."""
        originals: NDArray[np.uint8] = self.codes[self.variant == "orig"]
        return originals


@lru_cache(maxsize=1)
def load_real_hashes() -> RealHashes:
    """PDQ hashes of the benign corpus shipped with the package (src/stopframe/index/data)."""
    text = resources.files("stopframe.index").joinpath("data/benign_pdq.txt").read_text()
    rows = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    return RealHashes(
        as_codes([r[3] for r in rows]),
        np.array([int(r[2]) for r in rows]),
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows]),
    )


def _bits(codes: np.ndarray) -> np.ndarray:
    return np.unpackbits(codes, axis=1).astype(np.float32)


def _pack_median(z: np.ndarray) -> np.ndarray:
    """Bits = latent > its row median: exactly 128 ones, as PDQ's median threshold gives."""
    mid = np.partition(z, (127, 128), axis=1)
    thr = (mid[:, 127] + mid[:, 128]) / 2
    return np.packbits(z > thr[:, None], axis=1)


@dataclass(frozen=True)
class HashModel:
    """Latent Gaussian fitted to real hashes: mean, principal directions and scales, residual."""

    mean: NDArray[np.float32]  # (256,)
    directions: NDArray[np.float32]  # (k, 256)
    scales: NDArray[np.float32]  # (k,)
    residual: float
    low_quality: np.ndarray  # (j, 32) uint8 real hashes with quality < 50: collapse centres

    @classmethod
    def fit(cls, real: RealHashes | None = None, components: int = _COMPONENTS) -> HashModel:
        real = real or load_real_hashes()
        x = 2 * _bits(real.originals()) - 1
        mean = x.mean(axis=0)
        cov = np.cov(x - mean, rowvar=False)
        vals, vecs = np.linalg.eigh(cov)
        top = np.argsort(vals)[::-1][:components]
        resid = float(np.sqrt(max(np.mean(np.delete(vals, top)), 1e-3)))
        low = real.codes[(real.quality < 50) & (real.variant == "orig")]
        return cls(
            mean.astype(np.float32),
            vecs[:, top].T.astype(np.float32),
            np.sqrt(np.maximum(vals[top], 0)).astype(np.float32),
            resid,
            low,
        )

    def latent(self, n: int, rng: np.random.Generator) -> NDArray[np.float32]:
        """n latent coefficient vectors (n, 256) drawn from the model."""
        g = rng.standard_normal((n, self.scales.shape[0]), dtype=np.float32) * self.scales
        z: NDArray[np.float32] = (
            self.mean
            + g @ self.directions
            + self.residual * rng.standard_normal((n, 256), dtype=np.float32)
        )
        return z


def noise_for_distance(d: np.ndarray) -> NDArray[np.float32]:
    """Latent noise scale that flips about d of 256 median-thresholded bits (P(flip) =
    atan(s)/pi)."""
    scale: NDArray[np.float32] = np.tan(np.pi * np.clip(d, 0, 120) / 256.0).astype(np.float32)
    return scale


def realistic_codes(
    n: int,
    seed: int = 0,
    *,
    family_zipf: float = 3.0,
    max_family: int = 1000,
    collapse_fraction: float = 0.005,
    real_fraction: float = 0.05,
    model: HashModel | None = None,
) -> np.ndarray:
    """n PDQ-like codes (n, 32) uint8: families of near-duplicates, a little low-quality collapse.

    Family sizes follow a Zipf law (most images alone, a few copied thousands of times); family
    members sit at distances drawn like real transforms (half JPEG-like 0-10, half resize/edit-like
    up to ~40). A `real_fraction` of families start from the committed real hashes.
    """
    rng = np.random.default_rng(seed)
    model = model or HashModel.fit()
    real = load_real_hashes().originals()
    out = np.empty((n, 32), dtype=np.uint8)
    n_collapse = round(collapse_fraction * n) if model.low_quality.shape[0] else 0
    n_main = n - n_collapse
    sizes: NDArray[np.int64] = np.minimum(rng.zipf(family_zipf, n_main), max_family)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_main) + 1]
    sizes[-1] -= int(sizes.sum()) - n_main
    fam = np.repeat(np.arange(sizes.shape[0]), sizes)
    first = np.r_[True, fam[1:] != fam[:-1]]
    d_target = np.where(
        rng.random(n_main) < 0.5,
        rng.gamma(1.5, 2.0, n_main),
        rng.uniform(4, 40, n_main),
    )
    scale = np.where(first, 0, noise_for_distance(d_target)).astype(np.float32)
    n_families = int(sizes.shape[0])
    from_real = rng.random(n_families) < real_fraction
    real_pick = rng.integers(0, real.shape[0], n_families)
    fam_end = np.cumsum(sizes)
    f_lo = 0
    while f_lo < sizes.shape[0]:  # whole families per block, so a family shares one latent
        f_hi = max(
            int(np.searchsorted(fam_end, fam_end[f_lo] - sizes[f_lo] + _BLOCK, "right")),
            f_lo + 1,
        )
        base = model.latent(f_hi - f_lo, rng)
        own = from_real[f_lo:f_hi]
        if own.any():
            sign = 2 * _bits(real[real_pick[f_lo:f_hi][own]]) - 1
            base[own] = sign * np.abs(rng.standard_normal(sign.shape, dtype=np.float32))
        lo, hi = int(fam_end[f_lo] - sizes[f_lo]), int(fam_end[f_hi - 1])
        z = np.repeat(base, sizes[f_lo:f_hi], axis=0)
        spread = np.abs(z).mean(axis=1, keepdims=True)
        z += scale[lo:hi, None] * spread * rng.standard_normal((hi - lo, 256), dtype=np.float32)
        out[lo:hi] = _pack_median(z)
        f_lo = f_hi
    if n_collapse:
        centre = model.low_quality[rng.integers(0, model.low_quality.shape[0], n_collapse)]
        out[n_main:] = perturb(centre, rng.integers(0, 5, n_collapse), rng)
    return out[rng.permutation(n)]


def perturb(codes: np.ndarray, half_distance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copies at distance exactly 2 * half_distance (< 128): that many ones swapped with zeros,
    so every copy keeps its number of one-bits."""
    bits = np.unpackbits(codes, axis=1)
    keys = rng.random(bits.shape)
    pick = np.arange(bits.shape[1])[None, :] < np.asarray(half_distance)[:, None]
    flip = np.zeros(bits.shape, dtype=bool)
    for value in (
        1,
        0,
    ):  # random order of this value's positions first, then take the first k
        order = np.argsort(np.where(bits == value, keys, 2.0), axis=1)
        chosen = np.zeros(bits.shape, dtype=bool)
        np.put_along_axis(chosen, order, pick, axis=1)
        flip |= chosen & (bits == value)
    return np.packbits(bits ^ flip, axis=1)


def realistic_queries(
    listed: np.ndarray,
    n: int,
    seed: int = 1,
    *,
    near_fraction: float = 0.5,
    max_distance: int = 31,
    model: HashModel | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Queries as a platform sees them: near-duplicates of listed codes (even distances 0 to
    max_distance) and unrelated images. Returns (codes, source row or -1 for unrelated)."""
    rng = np.random.default_rng(seed)
    near = rng.random(n) < near_fraction
    src = np.where(near, rng.integers(0, listed.shape[0], n), -1)
    out = np.empty((n, 32), dtype=np.uint8)
    k = int(np.count_nonzero(near))
    if k:
        out[near] = perturb(listed[src[near]], rng.integers(0, max_distance // 2 + 1, k), rng)
    if n - k:
        out[~near] = realistic_codes(n - k, seed=seed + 7919, model=model)
    return out, src
