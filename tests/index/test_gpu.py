"""The torch scan path: exact on whatever device torch has (CPU here, CUDA where present)."""

from __future__ import annotations

import numpy as np
import pytest

from stopframe.index import HammingIndex, gpu
from stopframe.index.synthetic import perturb, realistic_codes

torch = pytest.importorskip("torch")


def compare(device: str) -> None:
    rng = np.random.default_rng(0)
    codes = realistic_codes(3000, seed=2)
    codes[:200] = perturb(
        np.repeat(codes[:1], 200, axis=0), rng.integers(0, 16, 200), rng
    )
    ids = np.arange(3000, dtype=np.uint64) * np.uint64(7) + np.uint64(2**63)
    flat = gpu.TorchFlatIndex(ids, codes, device=device)
    index = HammingIndex()
    index.add(ids, codes)
    queries = np.concatenate(
        [
            perturb(codes[:50], rng.integers(0, 16, 50), rng),
            rng.integers(0, 256, (10, 32), np.uint8),
        ]
    )
    for radius in (0, 12, 31, 64):
        a, b = (
            flat.range_search_batch(queries, radius),
            index.range_search_batch(queries, radius),
        )
        assert np.array_equal(a.start, b.start) and np.array_equal(a.ids, b.ids)
        assert np.array_equal(a.distances, b.distances)


def test_torch_scan_equals_the_index_on_cpu(monkeypatch) -> None:
    monkeypatch.setattr(
        gpu, "_PAIRS_PER_TILE", 4096
    )  # many tiles, including ragged ones
    compare("cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not gpu.available(), reason="needs torch with a CUDA device")
def test_torch_scan_equals_the_index_on_cuda() -> None:
    compare("cuda")


def test_popcount_handles_the_sign_bit() -> None:
    x = torch.tensor([-1, 0, 1, -(2**63), 2**63 - 1], dtype=torch.int64)
    assert gpu._popcount64(torch, x).tolist() == [64, 0, 1, 1, 63]
