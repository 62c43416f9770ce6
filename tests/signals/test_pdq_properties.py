"""Hex form, bit order and dihedral algebra of PDQ hashes (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stopframe.signals.base import SignalValueError
from stopframe.signals.jarosz import box_filter, jarosz_window
from stopframe.signals.pdq import (
    Dihedral,
    PdqResult,
    block64_from_reduced_luma,
    hamming_distance,
    hamming_matrix,
    hamming_pairs_within,
    hex_to_digest,
    jarosz_64,
    pdq_from_block64,
)

digests = st.binary(min_size=32, max_size=32)
blocks16 = arrays(np.float64, (16, 16), elements=st.floats(-1e3, 1e3, allow_nan=False), unique=True)


@settings(deadline=None)  # timing varies on loaded machines; not a speed test
@given(digests)
def test_hex_round_trip(digest: bytes) -> None:
    text = digest.hex()
    assert hex_to_digest(text) == digest
    assert hex_to_digest(text.upper()) == digest
    assert hex_to_digest(f"  {text}\n") == digest


@settings(deadline=None)  # timing varies on loaded machines; not a speed test
@given(st.text(max_size=70))
def test_hex_rejects_anything_malformed(text: str) -> None:
    stripped = text.strip().lower()
    if len(stripped) == 64 and all(c in "0123456789abcdef" for c in stripped):
        return
    with pytest.raises(SignalValueError):
        hex_to_digest(text)


@settings(max_examples=40, deadline=None)
@given(blocks16)
def test_bit_k_is_coefficient_k_above_median(dct: np.ndarray) -> None:
    digest = PdqResult(dct, 100).hash.digest
    value = int.from_bytes(digest, "big")
    flat = dct.reshape(-1)
    median = np.sort(flat)[127]
    for k in range(256):
        assert (value >> k) & 1 == int(flat[k] > median)
    assert bin(value).count("1") == 128


@settings(deadline=None)  # timing varies on loaded machines; not a speed test
@given(digests, digests)
def test_hamming_distance_is_xor_popcount(a: bytes, b: bytes) -> None:
    expected = sum(bin(x ^ y).count("1") for x, y in zip(a, b, strict=True))
    assert hamming_distance(a, b) == expected == hamming_distance(b, a)
    assert hamming_distance(a, a) == 0


_TRANSFORMS = {
    Dihedral.ORIGINAL: lambda b: b,
    Dihedral.ROTATE_90: lambda b: np.rot90(b, 1),
    Dihedral.ROTATE_180: lambda b: np.rot90(b, 2),
    Dihedral.ROTATE_270: lambda b: np.rot90(b, 3),
    Dihedral.FLIP_X: lambda b: b[::-1, :],
    Dihedral.FLIP_Y: lambda b: b[:, ::-1],
    Dihedral.FLIP_PLUS_1: lambda b: b.T,
    Dihedral.FLIP_MINUS_1: lambda b: np.rot90(b, 2).T,
}


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_dihedral_hashes_equal_hashes_of_transformed_blocks(seed: int) -> None:
    # continuous random content: no two DCT coefficients tie at the median
    block = np.random.default_rng(seed).random((64, 64)) * 255
    result = pdq_from_block64(block)
    for variant, transform in _TRANSFORMS.items():
        direct = pdq_from_block64(np.ascontiguousarray(transform(block)))
        assert direct.hash.digest == result.dihedral(variant).digest, variant


def _jarosz_by_box_passes(luma: np.ndarray) -> np.ndarray:
    """The filter as the reference describes it: two box passes per axis, then sampling."""
    rows, cols = luma.shape
    blurred = luma
    for _ in range(2):
        blurred = box_filter(blurred, jarosz_window(cols), axis=1)
        blurred = box_filter(blurred, jarosz_window(rows), axis=0)
    row_index = ((np.arange(64) + 0.5) * rows / 64).astype(np.intp)
    col_index = ((np.arange(64) + 0.5) * cols / 64).astype(np.intp)
    return blurred[np.ix_(row_index, col_index)]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 700), st.integers(1, 700), st.integers(0, 2**32 - 1))
def test_matrix_forms_equal_the_box_pass_definition(rows: int, cols: int, seed: int) -> None:
    luma = np.random.default_rng(seed).random((rows, cols)) * 255
    expected = _jarosz_by_box_passes(luma)
    assert np.allclose(jarosz_64(luma), expected, atol=1e-9)
    assert np.allclose(block64_from_reduced_luma(luma, (rows, cols)), expected, atol=1e-9)


def test_pair_scan_equals_the_full_matrix_across_blocks() -> None:
    rng = np.random.default_rng(5)
    left = rng.integers(0, 256, (37, 32), dtype=np.uint8)
    right = np.concatenate([left[::3], rng.integers(0, 256, (20, 32), dtype=np.uint8)])
    right[0, 0] ^= 0b101
    expected = set(zip(*np.nonzero(hamming_matrix(left, right) <= 40), strict=True))
    found = set()
    for rows, cols in hamming_pairs_within(left, right, 40, cells=3 * len(right)):
        found |= set(zip(rows.tolist(), cols.tolist(), strict=True))
    assert found == expected and len(found) >= 13
