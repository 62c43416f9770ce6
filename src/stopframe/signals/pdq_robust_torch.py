"""Robust registration sets (`pdq_robust.register_hashes`) on a torch device, for bulk hashing.

The shrunk picture, its trimmed view (`WorkViews`: a uint8 box resize and a border scan) and their
float32 lumas are made on the CPU, as the CPU path makes them; the rest runs on the device in
float64 with the CPU path's arithmetic. Crops are slices of the trimmed luma; each variant's box
resize to 128 x 128 is Pillow's `BOX` resample of a float image as two linear maps (its weights,
its passes in its order, its float32 rounding after each); rotations port Pillow's bilinear
affine transform (same sample points, clamping and black outside). The 128 x 128 squares equal the
CPU path's to the bit on the CPU device. The [1 2 1] blur, the 2 x 2 means, the DCT, the median
threshold and the quality of every variant of every picture then run as one batch
(`pdq_torch.pdq_blocks`), whose float64 products sum in another order than numpy's: where two
DCT coefficients tie at the median to the last bits, they can trade places (2 bits; 4 of 8,337
hashes of 300 generated pictures on the CPU device, all others equal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image

from stopframe.signals.pdq import luma_from_rgb
from stopframe.signals.pdq_robust import (
    _BLUR_AND_HALVE,
    REGISTER_CROPS,
    REGISTER_ROTATIONS,
    RobustHash,
    WorkViews,
    _unique,
)
from stopframe.signals.pdq_torch import Tensor, _torch, pdq_blocks

_SQUARE = 128  # side of the box-averaged square, as in `pdq_robust.canonical_blocks`


def _box_weights(size: int) -> np.ndarray:
    """The (128, size) map of Pillow's `BOX` resample of one axis from `size` to 128 pixels:
    its weights as `precompute_coeffs` computes them, in double."""
    scale = size / _SQUARE
    filterscale = max(scale, 1.0)
    support = 0.5 * filterscale
    matrix = np.zeros((_SQUARE, size))
    for out in range(_SQUARE):
        centre = (out + 0.5) * scale
        low = max(int(centre - support + 0.5), 0)
        high = min(int(centre + support + 0.5), size)
        taps = (np.arange(low, high) - centre + 0.5) * (1.0 / filterscale)
        weights = ((taps > -0.5) & (taps <= 0.5)).astype(np.float64)
        total = weights.sum()
        matrix[out, low:high] = weights / total if total != 0.0 else weights
    return matrix


@lru_cache(maxsize=512)
def _box_on(size: int, device: str) -> Tensor:
    """`_box_weights(size)` on `device`, cached per axis length."""
    return _torch().as_tensor(_box_weights(size), device=device)


@lru_cache(maxsize=512)  # at most 256 KiB each
def _embedded(size: int, start: int, stop: int, device: str) -> Tensor:
    """The box map of the slice `start:stop` of an axis of `size` pixels, zero elsewhere: a crop
    and its resize in one matrix."""
    torch = _torch()
    matrix = torch.zeros((_SQUARE, size), dtype=torch.float64, device=device)
    matrix[:, start:stop] = _box_on(stop - start, device)
    return matrix


def _rotation_matrix(width: int, height: int, degrees: float) -> tuple[float, ...]:
    """The inverse affine map `Image.rotate` hands to Pillow's transform (centre, no expand)."""
    angle = -math.radians(degrees % 360.0)
    a, b = round(math.cos(angle), 15), round(math.sin(angle), 15)
    d, e = round(-math.sin(angle), 15), round(math.cos(angle), 15)
    cx, cy = width / 2, height / 2
    return (a, b, a * -cx + b * -cy + cx, d, e, d * -cx + e * -cy + cy)


@lru_cache(maxsize=64)  # about 3.5 MiB each at 256 x 256
def _rotation_taps(height: int, width: int, degrees: float, device: str) -> tuple[Tensor, ...]:
    """Per output pixel: the clipped source indices and weights of Pillow's bilinear sample,
    and whether the sample point lies inside the picture (else black)."""
    a, b, c, d, e, f = _rotation_matrix(width, height, degrees)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    xin = a * (xs + 0.5) + b * (ys + 0.5) + c
    yin = d * (xs + 0.5) + e * (ys + 0.5) + f
    inside = (xin >= 0.0) & (xin < width) & (yin >= 0.0) & (yin < height)
    xin, yin = xin - 0.5, yin - 0.5
    x, y = np.floor(xin).astype(np.int64), np.floor(yin).astype(np.int64)
    dx, dy = xin - x, yin - y
    x0, x1 = np.clip(x, 0, width - 1), np.clip(x + 1, 0, width - 1)
    y0 = np.clip(y, 0, height - 1)
    has_next = (y + 1 >= 0) & (y + 1 < height)
    y1 = np.where(has_next, y + 1, y0)
    arrays = (y0 * width + x0, y0 * width + x1, y1 * width + x0, y1 * width + x1, dx, dy, inside)
    return tuple(_torch().as_tensor(array.ravel(), device=device) for array in arrays)


def _rotate(luma: Tensor, degrees: float) -> Tensor:
    """Pillow's `rotate(degrees, BILINEAR)` of a (H, W) float32 luma: float32, black corners."""
    height, width = luma.shape
    i00, i01, i10, i11, dx, dy, inside = _rotation_taps(height, width, degrees, str(luma.device))
    flat = luma.reshape(-1).float()  # C subtracts two float32 pixels in float32, then widens
    top = flat[i00].double() + (flat[i01] - flat[i00]).double() * dx
    bottom = flat[i10].double() + (flat[i11] - flat[i10]).double() * dx
    value = (top + (bottom - top) * dy).float()
    return _torch().where(inside, value, _torch().zeros_like(value)).reshape(height, width)


@lru_cache(maxsize=4096)
def _vertical_first(height: int, width: int) -> bool:
    """Whether Pillow resamples a float image of this size to 128 x 128 columns first: its order
    of the two passes depends on the size alone, and decides the float32 rounding in between.
    Read once per size from Pillow itself (a fixed probe picture), so any version's rule holds."""
    if height <= _SQUARE or width <= _SQUARE:
        return False  # an axis that is copied or enlarged takes single pixels: no rounding
    probe = np.random.default_rng(height * 1000 + width).uniform(0, 255, (height, width))
    probe = probe.astype(np.float32)
    square = Image.fromarray(probe, "F").resize((_SQUARE, _SQUARE), Image.Resampling.BOX)
    rows, cols = _box_weights(height), _box_weights(width)
    columns = (rows @ probe.astype(np.float64)).astype(np.float32).astype(np.float64)
    return bool(np.array_equal((columns @ cols.T).astype(np.float32), np.asarray(square)))


def _squares(sources: Tensor, rows: Tensor, cols: Tensor, vertical: Tensor) -> Tensor:
    """Box resample of (V, H, W) float32 sources through per-variant row and column maps, each
    variant's passes in Pillow's order (`vertical`: (V,) bool, columns first): (V, 128, 128)
    float64, rounded to float32 after each pass as Pillow stores it."""
    source, cols_t = sources.double(), cols.transpose(1, 2)
    out = source.new_empty((source.shape[0], _SQUARE, _SQUARE))
    across, down = ~vertical, vertical
    if bool(across.any()):
        wide = (source[across] @ cols_t[across]).float().double()
        out[across] = (rows[across] @ wide).float().double()
    if bool(down.any()):
        tall = (rows[down] @ source[down]).float().double()
        out[down] = (tall @ cols_t[down]).float().double()
    return out


def _luma(rgb: np.ndarray, device: str) -> Tensor:
    """`pdq.luma_from_rgb` of an H x W x 3 array, moved to `device`: the CPU's float32 luma, so
    no device rounding of the three-term sum can change a bit."""
    return _torch().as_tensor(luma_from_rgb(rgb), device=device)


def _variant_squares(views: WorkViews, device: str) -> tuple[list[str], Tensor]:
    """Names and 128 x 128 squares of every variant `register_hashes` takes, "full" first."""
    torch = _torch()
    base = _luma(views.trimmed, device)
    height, width = base.shape
    full_rows, full_cols = _embedded(height, 0, height, device), _embedded(width, 0, width, device)
    names, rows, cols = ["full"], [full_rows], [full_cols]
    shapes = [(height, width)]
    for crop in REGISTER_CROPS:
        top, bottom = round(height * crop.top), height - round(height * crop.bottom)
        left, right = round(width * crop.left), width - round(width * crop.right)
        names.append(crop.name)
        shapes.append((bottom - top, right - left))
        rows.append(_embedded(height, top, bottom, device))
        cols.append(_embedded(width, left, right, device))
    sources = [base] * len(names)
    for angle in REGISTER_ROTATIONS:
        names.append(f"rotate{angle:+g}")
        sources.append(_rotate(base, angle))
        shapes.append((height, width))
        rows.append(full_rows)
        cols.append(full_cols)
    vertical = torch.tensor([_vertical_first(*shape) for shape in shapes], device=device)
    squares = _squares(torch.stack(sources), torch.stack(rows), torch.stack(cols), vertical)
    if views.small.shape == views.trimmed.shape:
        return names, squares
    small = _luma(views.small, device)
    full_rows = _embedded(small.shape[0], 0, small.shape[0], device)[None]
    full_cols = _embedded(small.shape[1], 0, small.shape[1], device)[None]
    first = torch.tensor([_vertical_first(*small.shape)], device=device)
    untrimmed = _squares(small[None], full_rows, full_cols, first)
    order = [0, len(names)] + list(range(1, len(names)))
    return ["full", "untrimmed", *names[1:]], torch.cat([squares, untrimmed])[order]


def register_hashes_batch(
    pictures: Sequence[np.ndarray | WorkViews], device: str
) -> list[list[RobustHash]]:
    """`pdq_robust.register_hashes` of each picture (H x W x 3 uint8, or its `WorkViews`), the
    variants of the whole batch hashed on `device` together, in input order."""
    torch = _torch()
    views = [item if isinstance(item, WorkViews) else WorkViews.of(item) for item in pictures]
    if not views:
        return []
    per_picture = [_variant_squares(item, device) for item in views]
    squares = torch.cat([item[1] for item in per_picture])
    halve = torch.as_tensor(_BLUR_AND_HALVE, device=device)
    hashes = pdq_blocks(halve @ squares @ halve.T).hashes()
    out: list[list[RobustHash]] = []
    start = 0
    for names, _ in per_picture:
        found = [
            RobustHash(value, name) for name, value in zip(names, hashes[start:], strict=False)
        ]
        start += len(names)
        out.append([item for item in _unique(found) if item.usable] if found[0].usable else [])
    return out
