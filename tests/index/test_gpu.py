"""The GPU scan paths: exact on whatever device torch has (CPU here, CUDA where present).

The Triton kernel also runs on the CPU through Triton's interpreter when Triton is installed, so
its indexing and hit collection are checked without a GPU.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from stopframe.index import HammingIndex, gpu
from stopframe.index.synthetic import perturb, realistic_codes

torch = pytest.importorskip("torch")


def compare(device: str, kernel: str = "auto", n: int = 3000, radii=(0, 12, 31, 64)) -> None:
    rng = np.random.default_rng(0)
    codes = realistic_codes(n, seed=2)
    codes[:200] = perturb(np.repeat(codes[:1], 200, axis=0), rng.integers(0, 16, 200), rng)
    ids = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # both halves
    flat = gpu.TorchFlatIndex(ids, codes, device=device, kernel=kernel)
    index = HammingIndex()
    index.add(ids, codes)
    queries = np.concatenate(
        [
            perturb(codes[:50], rng.integers(0, 16, 50), rng),
            rng.integers(0, 256, (10, 32), np.uint8),
        ]
    )
    for radius in radii:
        a, b = (
            flat.range_search_batch(queries, radius),
            index.range_search_batch(queries, radius),
        )
        assert np.array_equal(a.start, b.start) and np.array_equal(a.ids, b.ids)
        assert np.array_equal(a.distances, b.distances)
    assert len(flat.range_search_batch(queries[:0])) == 0


def test_torch_scan_equals_the_index_on_cpu(monkeypatch) -> None:
    monkeypatch.setattr(gpu, "_PAIRS_PER_TILE", 4096)  # many tiles, including ragged ones
    compare("cpu", kernel="torch")


@pytest.mark.skipif(
    os.environ.get("TRITON_INTERPRET") != "1",
    reason="runs in its own process, started by the interpreter test below",
)
def test_triton_kernel_equals_the_index_on_cpu(monkeypatch) -> None:
    monkeypatch.setattr(gpu, "_BLOCK_ROWS", 64)
    monkeypatch.setattr(gpu, "_BLOCK_QUERIES", 32)
    monkeypatch.setattr(gpu, "_QUERIES_PER_LAUNCH", 32)  # ragged last launch
    monkeypatch.setattr(gpu, "_FIRST_CAPACITY", 16)  # overflow, then relaunch
    compare("cpu", kernel="triton", n=500, radii=(0, 31))


def test_triton_kernel_in_the_interpreter() -> None:
    """Triton reads TRITON_INTERPRET when it is first imported, hence a fresh process."""
    pytest.importorskip("triton")
    test = f"{__file__}::test_triton_kernel_equals_the_index_on_cpu"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        env={**os.environ, "TRITON_INTERPRET": "1"},
        check=False,
        capture_output=True,
        text=True,
    )
    if "only 0-dimensional arrays can be converted" in run.stdout:  # Triton < 3.7, numpy >= 2.5
        pytest.skip("this Triton's interpreter cannot index with numpy >= 2.5 arrays")
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout[-4000:]


@pytest.mark.gpu
@pytest.mark.skipif(not gpu.available(), reason="needs torch with a CUDA device")
@pytest.mark.parametrize("kernel", ["triton", "torch"])
def test_scan_equals_the_index_on_cuda(kernel: str) -> None:
    compare("cuda", kernel=kernel)


def test_device_codes_are_kept_and_checked() -> None:
    codes = realistic_codes(300, seed=5)
    on_device = torch.from_numpy(codes.view(np.int32).copy())
    a = gpu.TorchFlatIndex(np.arange(300), on_device, device="cpu", kernel="torch")
    b = gpu.TorchFlatIndex(np.arange(300), codes, device="cpu", kernel="torch")
    assert a.codes.data_ptr() == on_device.data_ptr()
    ra, rb = a.range_search_batch(codes[:20]), b.range_search_batch(codes[:20])
    assert np.array_equal(ra.ids, rb.ids) and np.array_equal(ra.start, rb.start)
    with pytest.raises(ValueError, match="32 bytes"):
        gpu.TorchFlatIndex(np.arange(300), on_device[:, :7], device="cpu")


def test_unknown_kernel_is_refused() -> None:
    with pytest.raises(ValueError, match="kernel"):
        gpu.TorchFlatIndex([1], np.zeros((1, 32), np.uint8), device="cpu", kernel="cuda")


def test_popcount_handles_the_sign_bit() -> None:
    x = torch.tensor([-1, 0, 1, -(2**63), 2**63 - 1], dtype=torch.int64)
    assert gpu._popcount64(x).tolist() == [64, 0, 1, 1, 63]
