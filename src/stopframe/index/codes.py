"""Turn what callers hold (bytes, hex strings, arrays) into (N, 32) uint8 code arrays and ids."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from stopframe.signals.pdq import PDQ

CODE_BYTES = 32  # one 256-bit code; every other code size in the index derives from this
CODE_BITS = 8 * CODE_BYTES
CODE_WORDS = CODE_BYTES // 8  # uint64 words the kernels read per code
CodeLike = bytes | bytearray | memoryview | str | np.ndarray
CodesLike = np.ndarray | Iterable[CodeLike] | CodeLike
IdsLike = Iterable[int] | np.ndarray | int


def _one_code(value: CodeLike) -> np.ndarray:
    if isinstance(value, str):
        return np.frombuffer(bytes.fromhex(PDQ.canonical(value)), dtype=np.uint8)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) != CODE_BYTES:
            raise ValueError(f"a code must be {CODE_BYTES} bytes, got {len(raw)}")
        return np.frombuffer(raw, dtype=np.uint8)
    arr = np.asarray(value)
    if arr.shape != (CODE_BYTES,) or arr.dtype != np.uint8:
        raise ValueError(
            f"a code array must be uint8 of shape ({CODE_BYTES},), got {arr.dtype} {arr.shape}"
        )
    return arr


def as_codes(values: CodesLike) -> np.ndarray:
    """A C-contiguous (N, 32) uint8 array from one code or many (bytes, 64-char hex, or arrays)."""
    if isinstance(values, np.ndarray) and values.ndim == 2:
        if values.dtype != np.uint8 or values.shape[1] != CODE_BYTES:
            raise ValueError(
                f"codes must be uint8 of shape (N, {CODE_BYTES}), got {values.dtype} {values.shape}"
            )
        return np.ascontiguousarray(values)
    if isinstance(values, (str, bytes, bytearray, memoryview)) or (
        isinstance(values, np.ndarray) and values.ndim == 1
    ):
        return _one_code(values).reshape(1, CODE_BYTES).copy()
    rows = [_one_code(v) for v in values]
    if not rows:
        return np.empty((0, CODE_BYTES), dtype=np.uint8)
    return np.ascontiguousarray(np.stack(rows))


def as_words(codes_u8: np.ndarray) -> np.ndarray:
    """The (N, 4) uint64 view the kernels read (no copy when already contiguous)."""
    return np.ascontiguousarray(codes_u8).view(np.uint64).reshape(-1, CODE_WORDS)


def as_ids(ids: IdsLike, n: int | None = None) -> np.ndarray:
    """A uint64 id array; negative or non-integer ids are refused."""
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"ids must be integers, got {arr.dtype}")
    if arr.size and arr.dtype.kind == "i" and int(arr.min()) < 0:
        raise ValueError("ids must be non-negative (uint64)")
    out = arr.astype(np.uint64, copy=False).ravel()
    if n is not None and out.shape[0] != n:
        raise ValueError(f"got {out.shape[0]} ids for {n} codes")
    return out
