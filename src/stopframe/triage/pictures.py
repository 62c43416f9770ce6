"""Near-duplicate pictures of a collection, found through the Hamming index, never by comparing
every pair.

The rule is the robust kind's (`stopframe.matching.robust`), applied both ways: pictures A and B
are copies when a hash of A's query set (its trimmed, untrimmed and window regions in all 8
orientations, and despeckled) lies within the kind's threshold of a hash of B's registration set
(its canonical crops and slight rotations). In a collection every picture has both sets, so
registration hashes are also compared with each other: an off-centre crop of A (a little cut
from two or three sides) is no canonical crop of A, but one of its own crops comes close to one
of A's (on the natural photos of the benign corpus the closest two distinct photos' registration
sets come is 54 bits, against the threshold's 40). Every registration hash of the collection
goes into one index; every query and registration hash is searched in it in batches; each hit
is an edge between two files.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from stopframe.index import HammingIndex
from stopframe.index.codes import CODE_BYTES
from stopframe.signals import PDQ_ROBUST
from stopframe.signals.pdq_robust import MIN_QUALITY
from stopframe.triage.model import TriageFile

QUERY_BATCH = 16_384  # query hashes searched at once


def set_codes(text: str | None) -> bytes:
    """The usable hashes of a robust set's text (`variant,quality,hex` lines) as raw digests;
    a line that does not parse is skipped (the set was written by this program's own cache)."""
    out = bytearray()
    for line in (text or "").splitlines():
        parts = line.split(",")
        try:
            if len(parts) != 3 or int(parts[1]) < MIN_QUALITY or len(parts[2]) != 2 * CODE_BYTES:
                continue
            out += bytes.fromhex(parts[2])
        except ValueError:
            continue
    return bytes(out)


def _stack(files: Sequence[TriageFile], field: str) -> tuple[np.ndarray, np.ndarray]:
    """All hashes of one set of every file, and the file position each came from."""
    codes = bytearray()
    owners: list[np.ndarray] = []
    for position, item in enumerate(files):
        raw = set_codes(getattr(item, field))
        codes += raw
        owners.append(np.full(len(raw) // CODE_BYTES, position, np.int64))
    matrix = np.frombuffer(bytes(codes), np.uint8).reshape(-1, CODE_BYTES)
    return matrix, (np.concatenate(owners) if owners else np.empty(0, np.int64))


def picture_edges(
    files: Sequence[TriageFile], radius: int = PDQ_ROBUST.default_threshold
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pairs of positions in `files` (a, b), a != b, whose robust sets match, in batches."""
    registered, registered_owner = _stack(files, "robust")
    queries, query_owner = _stack(files, "robust_query")
    if not len(registered):
        return
    queries = np.vstack([queries, registered])
    query_owner = np.concatenate([query_owner, registered_owner])
    index = HammingIndex.build(np.arange(len(registered), dtype=np.uint64), registered)
    for start in range(0, len(queries), QUERY_BATCH):
        found = index.range_search_batch(queries[start : start + QUERY_BATCH], radius)
        a = query_owner[start + found.query_index()]
        b = registered_owner[found.ids.astype(np.int64)]
        keep = a != b
        if keep.any():
            yield a[keep], b[keep]
