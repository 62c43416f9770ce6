"""Optional exact range search on a GPU with torch: a brute-force scan for big lists and batches.

Only used when torch is installed (extra `gpu`) and, by default, a CUDA device is present. Two
exact kernels compare every query with every code:
- `triton` (CUDA with Triton, which ships with torch's CUDA builds): bits as ±1 int8, one matrix
  product per block on tensor cores (`gpu_kernel`); each code is read from memory once per batch.
- `torch` (any device): XOR, popcount by the SWAR bit trick on int64 words, sum, in tiles that
  bound the temporary memory.
Results come back in the same `BatchMatches` form as `HammingIndex.range_search_batch`, or as
`Hits` through `search`, which makes the index a `SearchBackend` like the CPU segments.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stopframe.index.backend import Hits
from stopframe.index.codes import (
    CODE_BITS,
    CODE_BYTES,
    CODE_WORDS,
    CodesLike,
    IdsLike,
    as_codes,
    as_ids,
)
from stopframe.index.hamming import DEFAULT_RADIUS, BatchMatches, _check_radius

# torch is optional and may be missing where this module is type-checked: tensors are typed Any
Tensor = Any

_PAIRS_PER_TILE = (
    1 << 24
)  # torch kernel: queries x codes compared at once (each pair holds 4 int64 words)
_BLOCK_ROWS = 128  # triton kernel: codes unpacked once per program
_BLOCK_QUERIES = 64  # triton kernel: queries per matrix product
_NUM_WARPS = 4  # triton kernel: warps per program
_NUM_STAGES = 2  # triton kernel: query tiles in flight
_QUERIES_PER_LAUNCH = 16_384  # bounds the hit buffers; every code is read once per launch
_FIRST_CAPACITY = 1 << 24  # hits buffered per launch before a relaunch with the exact count


def available() -> bool:
    """True when torch is importable and sees a CUDA device."""
    try:
        import torch  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _triton_available() -> bool:
    try:
        import triton  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def _popcount64(x: Tensor) -> Tensor:
    # int64 is signed: the masks after each shift drop the sign-extended high bits
    x = x - ((x >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    return (x * 0x0101010101010101) >> 56 & 0xFF


def unpack_bits(words: Tensor) -> Tensor:
    """int32 (n, 8) packed codes -> bool (n, 256), bit j of word i at column 32 * i + j."""
    shifts = words.new_tensor(range(32))
    return ((words[:, :, None] >> shifts) & 1).bool().reshape(-1, CODE_BITS)


class TorchFlatIndex:
    """Codes held on a torch device; exact batched range search by a full scan.

    `codes`: anything `as_codes` takes, or a torch tensor of 32-byte rows (e.g. uint8 (n, 32) or
    int32 (n, 8)), which stays on its device. `kernel` picks the scan: "triton", "torch", or
    "auto" (triton on CUDA when Triton is installed, else torch).
    """

    def __init__(
        self,
        ids: IdsLike,
        codes: CodesLike | Tensor,
        device: str | None = None,
        kernel: str = "auto",
    ) -> None:
        import torch  # type: ignore[import-not-found, unused-ignore]

        self._torch = torch
        self.device = torch.device(device or "cuda")
        if isinstance(codes, torch.Tensor):  # already on a device: kept there, not copied
            if codes.dim() != 2 or codes.shape[1] * codes.element_size() != CODE_BYTES:
                raise ValueError(f"codes must be rows of 32 bytes, not {tuple(codes.shape)}")
            words = codes.contiguous().view(torch.int64).reshape(-1, CODE_WORDS)
            self.codes: Tensor = words.to(self.device)
        else:
            rows = as_codes(codes).view(np.int64).reshape(-1, CODE_WORDS)
            self.codes = torch.from_numpy(rows.copy()).to(self.device)
        self.ids = as_ids(ids, self.codes.shape[0])
        # ids as int64 sort keys on the device: the top bit flipped keeps the uint64 order
        keys = (self.ids ^ np.uint64(2**63)).view(np.int64)
        self._id_keys: Tensor = torch.from_numpy(keys).to(self.device)
        if kernel == "auto":
            use_triton = self.device.type == "cuda" and _triton_available()
            kernel = "triton" if use_triton else "torch"
        if kernel not in ("triton", "torch"):
            raise ValueError(f"kernel must be 'auto', 'triton' or 'torch', not {kernel!r}")
        self.kernel = kernel
        self._capacity = _FIRST_CAPACITY

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def search(self, qcodes: NDArray[np.uint8], radius: int, pool: Executor | None = None) -> Hits:
        """Every (query, row, distance) within `radius`, exactly; `pool` is unused (the device
        does the parallel work)."""
        qi, rows, dist = self._device_hits(qcodes, radius)
        return Hits(qi.cpu().numpy(), rows.cpu().numpy(), dist.cpu().numpy())

    def range_search_batch(self, codes: CodesLike, radius: int = DEFAULT_RADIUS) -> BatchMatches:
        """Every (id, distance) within radius of each query, nearest first (ties by id)."""
        torch = self._torch
        radius = _check_radius(radius)
        qcodes = as_codes(codes)
        n_q = qcodes.shape[0]
        qi, rows, dist = self._device_hits(qcodes, radius)
        # sorted where the hits are: by id first, then stably by (query, distance)
        keys = self._id_keys[rows]
        order = torch.argsort(keys, stable=True)
        order = order[torch.argsort((qi * 65 + dist)[order], stable=True)]
        start = np.zeros(n_q + 1, dtype=np.int64)
        start[1:] = np.cumsum(torch.bincount(qi, minlength=n_q).cpu().numpy())
        ids = (keys[order].cpu().numpy() ^ np.int64(-(2**63))).view(np.uint64)
        return BatchMatches(start, ids, dist[order].cpu().numpy())

    def _device_hits(self, qcodes: NDArray[np.uint8], radius: int) -> tuple[Tensor, Tensor, Tensor]:
        """(query, row, distance) of every hit, int64 on the device, launch by launch."""
        torch = self._torch
        q = torch.from_numpy(qcodes.view(np.int64).reshape(-1, CODE_WORDS).copy()).to(self.device)
        scan = self._scan_triton if self.kernel == "triton" else self._scan_torch
        parts = [
            scan(q[q0 : q0 + _QUERIES_PER_LAUNCH], radius, q0)
            for q0 in range(0, qcodes.shape[0], _QUERIES_PER_LAUNCH)
        ]
        if not parts:
            return q[:0, 0], q[:0, 0], q[:0, 0]
        qi, rows, dist = (torch.cat(p) for p in zip(*parts, strict=True))
        return qi, rows, dist

    def _scan_torch(self, q: Tensor, radius: int, q_offset: int) -> tuple[Tensor, Tensor, Tensor]:
        """(query, row, distance) of every hit, int64 on the device, by tiled XOR and popcount."""
        torch = self._torch
        n_q, n = q.shape[0], len(self)
        q_tile = max(1, min(n_q, 1024))
        r_tile = max(1, _PAIRS_PER_TILE // q_tile)
        qi_parts, row_parts, d_parts = [], [], []
        with torch.no_grad():
            for q0 in range(0, n_q, q_tile):
                qb = q[q0 : q0 + q_tile, None, :]
                for r0 in range(0, n, r_tile):
                    d = _popcount64(qb ^ self.codes[None, r0 : r0 + r_tile, :]).sum(dim=2)
                    qi, row = torch.nonzero(d <= radius, as_tuple=True)
                    qi_parts.append(qi + q0 + q_offset)
                    row_parts.append(row + r0)
                    d_parts.append(d[qi, row])
        empty = torch.empty(0, dtype=torch.int64, device=self.device)
        return (
            torch.cat(qi_parts) if qi_parts else empty,
            torch.cat(row_parts) if row_parts else empty,
            torch.cat(d_parts) if d_parts else empty,
        )

    def _scan_triton(self, q: Tensor, radius: int, q_offset: int) -> tuple[Tensor, Tensor, Tensor]:
        """(query, row, distance) of every hit, int64 on the device, by the tensor-core kernel."""
        import triton  # type: ignore[import-not-found, unused-ignore]

        from stopframe.index.gpu_kernel import range_scan_kernel

        torch = self._torch
        n_q, n = q.shape[0], len(self)
        padded = triton.cdiv(n_q, _BLOCK_QUERIES) * _BLOCK_QUERIES
        signs = torch.zeros((padded, CODE_BITS), dtype=torch.int8, device=self.device)
        signs[:n_q] = unpack_bits(q.view(torch.int32)).to(torch.int8) * 2 - 1
        words = self.codes.view(torch.int32)
        while True:
            count = torch.zeros(1, dtype=torch.int64, device=self.device)
            hit_q = torch.empty(self._capacity, dtype=torch.int32, device=self.device)
            hit_row = torch.empty(self._capacity, dtype=torch.int64, device=self.device)
            hit_dot = torch.empty(self._capacity, dtype=torch.int32, device=self.device)
            if n:
                range_scan_kernel[(triton.cdiv(n, _BLOCK_ROWS),)](
                    words, signs, n, n_q, CODE_BITS - 2 * radius,
                    hit_q, hit_row, hit_dot, count, self._capacity,
                    BLOCK_ROWS=_BLOCK_ROWS, BLOCK_QUERIES=_BLOCK_QUERIES,
                    num_warps=_NUM_WARPS, num_stages=_NUM_STAGES,
                )  # fmt: skip
            found = int(count.item())
            if found <= self._capacity:
                break
            self._capacity = found  # every hit was counted: one more launch keeps them all
        return (
            hit_q[:found].to(torch.int64) + q_offset,
            hit_row[:found],
            (CODE_BITS - hit_dot[:found].to(torch.int64)) // 2,
        )
