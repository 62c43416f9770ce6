"""Optional exact range search on a GPU with torch: a tiled brute-force scan, for big query batches.

Only used when torch is installed (extra `gpu`) and, by default, a CUDA device is present. The
scan compares every query with every code (XOR, popcount by the SWAR bit trick on int64 words,
sum), so it is exact by construction; tiles bound the temporary memory. Results come back in
the same `BatchMatches` form as `HammingIndex.range_search_batch`.
"""

from __future__ import annotations

import numpy as np

from stopframe.index.codes import CodesLike, as_codes, as_ids
from stopframe.index.hamming import BatchMatches, _check_radius

_PAIRS_PER_TILE = (
    1 << 24
)  # queries x codes compared at once (each pair holds 4 int64 words)


def available() -> bool:
    """True when torch is importable and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _popcount64(torch, x):
    # int64 is signed: the masks after each shift drop the sign-extended high bits
    x = x - ((x >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    return (x * 0x0101010101010101) >> 56 & 0xFF


class TorchFlatIndex:
    """Codes held on a torch device; exact batched range search by tiled scan."""

    def __init__(self, ids, codes: CodesLike, device: str | None = None) -> None:
        import torch

        self._torch = torch
        codes = as_codes(codes)
        self.ids = as_ids(ids, codes.shape[0])
        self.device = torch.device(device or "cuda")
        words = codes.view(np.int64).reshape(-1, 4)
        self.codes = torch.from_numpy(words.copy()).to(self.device)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def range_search_batch(self, codes: CodesLike, radius: int = 31) -> BatchMatches:
        """Every (id, distance) within radius of each query, nearest first (ties by id)."""
        torch = self._torch
        radius = _check_radius(radius)
        qcodes = as_codes(codes)
        n_q, n = qcodes.shape[0], len(self)
        q = torch.from_numpy(qcodes.view(np.int64).reshape(-1, 4).copy()).to(
            self.device
        )
        q_tile = max(1, min(n_q, 1024))
        r_tile = max(1, _PAIRS_PER_TILE // q_tile)
        qi_parts, row_parts, d_parts = [], [], []
        with torch.no_grad():
            for q0 in range(0, n_q, q_tile):
                qb = q[q0 : q0 + q_tile, None, :]
                for r0 in range(0, n, r_tile):
                    d = _popcount64(
                        torch, qb ^ self.codes[None, r0 : r0 + r_tile, :]
                    ).sum(dim=2)
                    qi, row = torch.nonzero(d <= radius, as_tuple=True)
                    qi_parts.append((qi + q0).cpu())
                    row_parts.append((row + r0).cpu())
                    d_parts.append(d[qi, row].cpu())
        if qi_parts:
            qi = torch.cat(qi_parts).numpy().astype(np.int64)
            rows = torch.cat(row_parts).numpy().astype(np.int64)
            dist = torch.cat(d_parts).numpy().astype(np.int64)
        else:
            qi = rows = dist = np.empty(0, np.int64)
        ids = self.ids[rows]
        order = np.lexsort((ids, dist, qi))
        start = np.zeros(n_q + 1, dtype=np.int64)
        start[1:] = np.cumsum(np.bincount(qi, minlength=n_q))
        return BatchMatches(start, ids[order], dist[order])
