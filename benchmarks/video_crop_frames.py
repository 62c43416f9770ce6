"""How near a cropped copy's frames come to its original's registered grid crops, and to other
clips': the evidence for (or against) grouping cropped videos in triage by frame coverage.

Each corpus clip (its first `--seconds`) is cropped 5-10 % of each axis, on sides drawn at random,
and re-encoded. At the triage rate, the copy's frames (bars trimmed, as a query takes them) are
compared with the original's frames whole, with its nine grid crops (`vpdq_robust`'s
registration crops), and with every other clip's frames whole and cropped. For each frame
distance it prints the share of the copy's good frames within it of each, per clip, and how many
clips reach triage's same-recording coverage (80 %) through their own crops against the largest
share any other clip reaches (a false merge in waiting).

    .venv/bin/python benchmarks/video_crop_frames.py [--corpus DIR] [--seconds 12] [--seed 1]
                                                     [--radii 31,40,48] [--rate 0.04]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import av
import numpy as np

from stopframe.bench.corpus import default_corpus_dir
from stopframe.errors import MediaError
from stopframe.matching.video_geometry import FrameVariants, query_video, register_video
from stopframe.signals.pdq import hamming_matrix
from stopframe.signals.vpdq_robust import REGISTER_CROPS

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".ogv", ".mpg", ".m4v")
SAME_RECORDING = 0.8  # triage's coverage for the shorter side of one recording
CROPS = tuple(crop.name for crop in REGISTER_CROPS)


def clips(corpus: Path) -> list[Path]:
    """Every video file under the corpus's `videos/` folder, in path order."""
    return sorted(p for p in (corpus / "videos").rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)


def first_seconds(variants: FrameVariants, seconds: float) -> FrameVariants:
    keep = variants.times <= seconds
    return FrameVariants(
        variants.times[keep], variants.codes[keep], variants.usable[keep], variants.names
    )


def good_digests(variants: FrameVariants, names: tuple[str, ...]) -> np.ndarray:
    """(n, 32) uint8 digests of the usable frames of the variants named."""
    columns = [variants.names.index(name) for name in names]
    codes = variants.codes[:, columns].reshape(-1, 4)
    usable = variants.usable[:, columns].reshape(-1)
    return codes[usable].astype(">u8").view(np.uint8).reshape(-1, 32)


def write_cropped(source: Path, target: Path, seconds: float, rng: np.random.Generator) -> str:
    """The first `seconds` of `source` cropped 5-10 % of each axis and re-encoded (CRF 26)."""
    total_x, total_y = rng.uniform(0.05, 0.10, 2)
    share_x, share_y = rng.uniform(0.0, 1.0, 2)
    left, top = total_x * share_x, total_y * share_y
    right, bottom = total_x - left, total_y - top
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        stream = None
        for frame in inp.decode(inp.streams.video[0]):
            if frame.time is not None and frame.time > seconds:
                break
            rgb = frame.to_ndarray(format="rgb24")
            h, w = rgb.shape[:2]
            rgb = rgb[
                round(h * top) : h - round(h * bottom), round(w * left) : w - round(w * right)
            ]
            rgb = np.ascontiguousarray(rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2])
            if stream is None:
                stream = out.add_stream("libx264", rate=25)
                stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], "yuv420p"
                stream.options = {"preset": "ultrafast", "crf": "26"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                out.mux(packet)
    return f"cut L{left:.3f} T{top:.3f} R{right:.3f} B{bottom:.3f}"


def covered(query: np.ndarray, target: np.ndarray, radius: int) -> float:
    """Share of the query's frames with a target frame within `radius` bits."""
    if not len(query) or not len(target):
        return 0.0
    return float((hamming_matrix(query, target).min(axis=1) <= radius).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus_dir())
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--radii", default="31,40,48")
    parser.add_argument("--rate", type=float, default=0.04, help="seconds between frames")
    args = parser.parse_args()
    radii = [int(r) for r in args.radii.split(",")]
    rng = np.random.default_rng(args.seed)
    originals: dict[Path, FrameVariants] = {}
    for clip in clips(args.corpus):
        try:
            originals[clip] = first_seconds(register_video(clip, rate=args.rate), args.seconds)
        except MediaError as exc:
            print(f"skipped {clip.name}: {exc}")
    if not originals:
        raise SystemExit(f"no readable clips under {args.corpus / 'videos'}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, (clip, original) in enumerate(originals.items()):
            copy = Path(tmp) / f"{number}.mp4"
            cut = write_cropped(clip, copy, args.seconds, rng)
            query = good_digests(query_video(copy, rate=args.rate), ("full",))
            if not len(query):
                continue
            row = [clip.name[:28], str(len(query)), cut]
            for radius in radii:
                own = covered(query, good_digests(original, CROPS), radius)
                plain = covered(query, good_digests(original, ("full",)), radius)
                other = max(
                    (
                        covered(query, good_digests(v, ("full", *CROPS)), radius)
                        for c, v in originals.items()
                        if c != clip
                    ),
                    default=0.0,
                )
                row.append(f"{plain:.2f}/{own:.2f}/{other:.2f}")
            rows.append(row)
    header = ["clip", "frames", "crop", *(f"<={r}: whole/crops/other" for r in radii)]
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(row))
    for k, radius in enumerate(radii):
        shares = [tuple(float(x) for x in row[3 + k].split("/")) for row in rows]
        joined = sum(own >= SAME_RECORDING for _, own, _ in shares)
        worst = max(other for _, _, other in shares)
        print(
            f"<= {radius} bits: {joined} of {len(shares)} copies reach {SAME_RECORDING:.0%} "
            f"through their original's crops; the most any other clip covers: {worst:.0%}"
        )


if __name__ == "__main__":
    main()
