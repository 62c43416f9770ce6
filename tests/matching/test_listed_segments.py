"""The pieces the matcher's segment pass is built from: frames of one variant back as plain vPDQ,
and the distance of a segment on vPDQ's scale whatever the two sides' sampling rates."""

from __future__ import annotations

import numpy as np

from stopframe.matching.video_geometry import frames_of_variant, variants_of_frames
from stopframe.matching.video_segments import match_segments, segment_distance
from stopframe.signals.pdq import PDQ
from stopframe.signals.vpdq import VpdqFrame


def frames(times: list[float], seed: int = 3) -> list[VpdqFrame]:
    rng = np.random.default_rng(seed)
    return [
        VpdqFrame(k, 100, rng.integers(0, 256, 32, dtype=np.uint8).tobytes(), t)
        for k, t in enumerate(times)
    ]


def test_a_variant_reads_back_as_plain_frames() -> None:
    plain = frames([0.0, 0.5, 1.0])
    plain[1] = VpdqFrame(1, 10, plain[1].digest, 0.5)
    back = frames_of_variant(variants_of_frames(plain), "full")
    assert [(f.digest, f.timestamp) for f in back] == [(f.digest, f.timestamp) for f in plain]
    assert [f.quality for f in back] == [PDQ.quality_floor, 0, PDQ.quality_floor]


def near(digest: bytes) -> bytes:
    """The digest with 20 bits flipped: a frame half a second later of a moving scene."""
    return bytes([digest[0] ^ 0xFF, digest[1] ^ 0xFF, digest[2] ^ 0x0F]) + digest[3:]


def test_a_denser_query_is_counted_on_the_listed_side() -> None:
    listed = frames([float(t) for t in range(10)])
    query = variants_of_frames(
        [
            VpdqFrame(2 * k + half, 100, near(f.digest) if half else f.digest, k + half / 2)
            for k, f in enumerate(listed)
            for half in (0, 1)
        ]
    )
    registered = variants_of_frames(listed)
    [segment] = match_segments(query, {"r": registered})
    assert segment.frames == 10 and segment.score < 0.6  # the half-step frames chain to none
    assert segment_distance(segment, query, registered) == 0
