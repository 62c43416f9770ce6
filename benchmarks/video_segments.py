"""Segment matching of videos: compilations and excerpts of registered recordings, found and
placed in time, beside plain vPDQ whole-video matching.

Registered recordings are slow pans and zooms over benign corpus photos (one shot per photo,
several shots per recording). Each query is a compilation of one to three excerpts (5-60 s) of
registered recordings, with unregistered footage between them, or unregistered footage only. Every
excerpt gets one edit: re-encode only, rescale, speed x0.9 or x1.1, mirror, a 5-10 % crop (on
sides drawn at random), both, a letterbox, or a turn by 3-5 degrees either way (black corners);
every query is re-encoded at its own frame rate and size.

    .venv/bin/python benchmarks/video_segments.py [--corpus DIR] [--recordings 6] [--queries 24]
                                                  [--repeats 1] [--seed 1] [--rate 0.5]
                                                  [--edits plain,crop,...]

Prints, per method, segment precision and recall, localisation error (seconds) and recall per
edit, and the registered hashes per minute of video; with `--repeats N` the medians over N seeds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

from stopframe.matching.video import match_one_to_many
from stopframe.matching.video_geometry import (
    QUERY_NAMES,
    FrameVariants,
    query_video,
    register_names,
    register_video,
)
from stopframe.matching.video_segments import SegmentMatch, match_segments
from stopframe.signals.vpdq import VpdqFrame, hash_video
from stopframe.signals.vpdq_robust import REGISTER_ROTATIONS

REG_FPS = 15
REG_SIZE = (320, 180)
RECORDING_S = 60.0
SHOT_S = (6.0, 12.0)
EDITS = (
    "plain", "rescale", "speed0.9", "speed1.1", "mirror", "crop", "mirror+crop", "letterbox",
    "rotate",
)  # fmt: skip
QUERY_FPS = (10, 15, 24)
QUERY_SIZES = ((320, 180), (256, 144), (480, 270))
LOCATE_S = 2.0  # goal: start and end within this many seconds


@dataclass(frozen=True, slots=True)
class Shot:
    """A pan and zoom over one photo: the crop box moves from `start` to `end` (x, y, w, h)."""

    photo: Image.Image
    seconds: float
    start: tuple[float, float, float, float]
    end: tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Recording:
    """Shots back to back; `frame(t)` renders any instant."""

    shots: list[Shot]

    @property
    def seconds(self) -> float:
        return sum(shot.seconds for shot in self.shots)

    def frame(self, t: float, size: tuple[int, int]) -> np.ndarray:
        """The picture shown at `t` seconds, rendered at `size`."""
        for shot in self.shots:
            if t < shot.seconds or shot is self.shots[-1]:
                a = min(1.0, max(0.0, t / shot.seconds))
                x, y, w, h = (s + (e - s) * a for s, e in zip(shot.start, shot.end, strict=True))
                box = (x, y, x + w, y + h)
                return np.asarray(shot.photo.resize(size, Image.Resampling.BILINEAR, box=box))
            t -= shot.seconds
        raise ValueError("a recording has at least one shot")


@dataclass(frozen=True, slots=True)
class Excerpt:
    """One registered stretch shown in a query, and where."""

    recording: str
    edit: str
    query_start: float
    query_end: float
    registered_start: float
    speed: float


@dataclass(frozen=True, slots=True)
class Part:
    """A stretch of a query: from `source` at `start`, `seconds` long in the query."""

    source: Recording
    start: float
    seconds: float
    speed: float
    edit: str


def _photos(corpus: Path, count: int, rng: np.random.Generator) -> list[Image.Image]:
    """`count` random corpus photos, at least 360 px on the short side, shrunk to 640 px."""
    paths = sorted(
        p for p in (corpus / "images").rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"}
    )
    out: list[Image.Image] = []
    for index in rng.permutation(len(paths)).tolist():
        with Image.open(paths[index]) as image:
            if min(image.size) < 360:
                continue
            photo = image.convert("RGB")
        photo.thumbnail((640, 640))
        out.append(photo)
        if len(out) == count:
            return out
    raise SystemExit(f"{corpus}: too few photos of 360 px or more")


def _recording(photos: list[Image.Image], rng: np.random.Generator) -> Recording:
    """Shots over `photos` adding up to `RECORDING_S` seconds."""
    shots, left = [], RECORDING_S
    for photo in photos:
        seconds = min(left, float(rng.uniform(*SHOT_S)))
        shots.append(Shot(photo, seconds, _box(photo, rng), _box(photo, rng)))
        left -= seconds
        if left <= 0:
            break
    return Recording(shots)


def _box(photo: Image.Image, rng: np.random.Generator) -> tuple[float, float, float, float]:
    aspect = REG_SIZE[0] / REG_SIZE[1]
    base_w = min(photo.width, photo.height * aspect)
    w = base_w / float(rng.uniform(1.0, 1.5))
    h = w / aspect
    return float(rng.uniform(0, photo.width - w)), float(rng.uniform(0, photo.height - h)), w, h


def _edit(rgb: np.ndarray, edit: str, size: tuple[int, int], cut: tuple[float, ...]) -> np.ndarray:
    """One rendered frame after the excerpt's edit, at the query's size (`cut[4]` is the
    turn in degrees of a rotated excerpt)."""
    image = Image.fromarray(rgb)
    if edit == "rotate":
        image = image.rotate(cut[4], Image.Resampling.BILINEAR)
    if "mirror" in edit:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if "crop" in edit:
        w, h = image.size
        left, top, right, bottom = cut[:4]
        image = image.crop(
            (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
        )
    if edit == "letterbox":
        canvas = Image.new("RGB", size)
        inner = (size[0], round(size[1] * 0.75) // 2 * 2)
        canvas.paste(image.resize(inner, Image.Resampling.BILINEAR), (0, (size[1] - inner[1]) // 2))
        return np.asarray(canvas)
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR))


def _write(
    path: Path, frames: Iterator[np.ndarray], fps: int, size: tuple[int, int], crf: int
) -> None:
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream(
            "libx264", rate=fps, options={"crf": str(crf), "preset": "ultrafast"}
        )
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))


def _query_frames(
    parts: list[Part], fps: int, size: tuple[int, int], rng: np.random.Generator
) -> Iterator[np.ndarray]:
    for part in parts:
        cut = _crop_shares(rng)
        for k in range(round(part.seconds * fps)):
            t = part.start + k / fps * part.speed
            yield _edit(part.source.frame(t, REG_SIZE), part.edit, size, cut)


def _crop_shares(rng: np.random.Generator) -> tuple[float, ...]:
    """Left, top, right, bottom shares cut: 5-10 % of each axis, split at random; then a turn
    of 3-5 degrees either way."""
    total_x, total_y = rng.uniform(0.05, 0.10, 2)
    sx, sy = rng.uniform(0.0, 1.0, 2)
    turn = float(rng.uniform(3.0, 5.0) * rng.choice([-1.0, 1.0]))
    return (
        float(total_x * sx),
        float(total_y * sy),
        float(total_x * (1 - sx)),
        float(total_y * (1 - sy)),
        turn,
    )


def _plan_query(
    registered: dict[str, Recording],
    fillers: list[Recording],
    rng: np.random.Generator,
    edits: tuple[str, ...] = EDITS,
) -> tuple[list[Part], list[Excerpt]]:
    """One query: excerpts of registered recordings with unregistered footage between them."""
    parts: list[Part] = []
    truth: list[Excerpt] = []
    clock = 0.0
    count = int(rng.choice([0, 1, 1, 2, 3]))
    names = list(registered)
    for k in range(count):
        if k or rng.random() < 0.5:
            filler = fillers[int(rng.integers(len(fillers)))]
            seconds = float(rng.uniform(3.0, 10.0))
            start = float(rng.uniform(0.0, filler.seconds - seconds))
            parts.append(Part(filler, start, seconds, 1.0, "plain"))
            clock += seconds
        name = names[int(rng.integers(len(names)))]
        edit = edits[int(rng.integers(len(edits)))]
        speed = {"speed0.9": 0.9, "speed1.1": 1.1}.get(edit, 1.0)
        length = float(rng.uniform(5.0, 55.0))  # registered seconds shown
        start = float(rng.uniform(0.0, RECORDING_S - length))
        seconds = length / speed
        parts.append(Part(registered[name], start, seconds, speed, edit))
        truth.append(Excerpt(name, edit, clock, clock + seconds, start, speed))
        clock += seconds
    if not parts or rng.random() < 0.5:
        filler = fillers[int(rng.integers(len(fillers)))]
        seconds = float(rng.uniform(5.0, 20.0))
        parts.append(Part(filler, 0.0, seconds, 1.0, "plain"))
    return parts, truth


@dataclass
class Tally:
    """Counts of one method over all queries."""

    found: int = 0
    correct: int = 0
    excerpts: int = 0
    recalled: int = 0
    start_errors: list[float] | None = None
    end_errors: list[float] | None = None
    per_edit: dict[str, list[int]] | None = None

    def __post_init__(self) -> None:
        self.start_errors, self.end_errors, self.per_edit = [], [], {e: [0, 0] for e in EDITS}


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _score(tally: Tally, found: list[SegmentMatch], truth: list[Excerpt]) -> None:
    """Precision counts found segments lying mostly on a true excerpt of the same recording;
    recall counts excerpts half covered by such segments."""
    assert (
        tally.start_errors is not None
        and tally.end_errors is not None
        and tally.per_edit is not None
    )
    tally.found += len(found)
    for seg in found:
        length = max(seg.query_end_s - seg.query_start_s, 1e-9)
        if any(
            ex.recording == seg.recording
            and _overlap(seg.query_start_s, seg.query_end_s, ex.query_start, ex.query_end)
            >= 0.5 * length
            for ex in truth
        ):
            tally.correct += 1
    for ex in truth:
        tally.excerpts += 1
        tally.per_edit[ex.edit][1] += 1
        mine = [
            s
            for s in found
            if s.recording == ex.recording
            and _overlap(s.query_start_s, s.query_end_s, ex.query_start, ex.query_end) > 0
        ]
        covered = sum(
            _overlap(s.query_start_s, s.query_end_s, ex.query_start, ex.query_end) for s in mine
        )
        if covered < 0.5 * (ex.query_end - ex.query_start):
            continue
        tally.recalled += 1
        tally.per_edit[ex.edit][0] += 1
        tally.start_errors.append(abs(min(s.query_start_s for s in mine) - ex.query_start))
        tally.end_errors.append(abs(max(s.query_end_s for s in mine) - ex.query_end))


def _plain(
    tally: Tally,
    query: list[VpdqFrame],
    registered: dict[str, list[VpdqFrame]],
    truth: list[Excerpt],
) -> None:
    """Upstream's whole-video rule: a recording is found when 80 % of the query's frames match
    it; an excerpt is recalled when its recording is found (no time range to check)."""
    assert tally.per_edit is not None
    results = match_one_to_many(query, registered)
    hits = {name for name, result in results.items() if result.is_match}
    tally.found += len(hits)
    tally.correct += len(hits & {ex.recording for ex in truth})
    for ex in truth:
        tally.excerpts += 1
        tally.per_edit[ex.edit][1] += 1
        if ex.recording in hits:
            tally.recalled += 1
            tally.per_edit[ex.edit][0] += 1


METHODS = {  # query variants, registered variants, frame distance
    "segments, frames as is": (("full",), ("full",), 31),
    "segments + query mirror": (QUERY_NAMES, ("full",), 31),
    "segments + mirror + centred crop": (QUERY_NAMES, ("full", "crop-mc"), 31),
    "segments + mirror + 3x3 crops": (QUERY_NAMES, register_names(), 31),
    "segments + mirror + 3x3 crops, 40 bits": (QUERY_NAMES, register_names(), 40),
    "segments + mirror + 3x3 crops, 48 bits (default)": (QUERY_NAMES, register_names(), 48),
    "segments + mirror + 3x3 crops + rotations, 48 bits": (
        QUERY_NAMES,
        register_names(rotations=REGISTER_ROTATIONS),
        48,
    ),
}


def run(
    corpus: Path,
    recordings: int,
    queries: int,
    seed: int,
    rate: float,
    work: Path,
    edits: tuple[str, ...] = EDITS,
) -> dict[str, Tally]:
    """One benchmark run: build, hash and match; the tallies per method."""
    rng = np.random.default_rng(seed)
    photos = _photos(corpus, (recordings + 4) * 9, rng)
    recs = [_recording(photos[k * 9 : (k + 1) * 9], rng) for k in range(recordings + 4)]
    registered = {f"rec{k:02d}": recs[k] for k in range(recordings)}
    fillers = recs[recordings:]
    reg_variants: dict[str, FrameVariants] = {}
    reg_plain: dict[str, list[VpdqFrame]] = {}
    for name, rec in registered.items():
        path = work / f"{name}.mp4"
        frames = (rec.frame(k / REG_FPS, REG_SIZE) for k in range(round(rec.seconds * REG_FPS)))
        _write(path, frames, REG_FPS, REG_SIZE, 20)
        reg_variants[name] = register_video(path, rate=rate, rotations=REGISTER_ROTATIONS)
        reg_plain[name] = hash_video(path, rate=rate).frames
    tallies = {name: Tally() for name in ["plain vPDQ (whole video)", *METHODS]}
    for q in range(queries):
        parts, truth = _plan_query(registered, fillers, rng, edits)
        fps = int(rng.choice(QUERY_FPS))
        size = QUERY_SIZES[int(rng.integers(len(QUERY_SIZES)))]
        path = work / f"query{q:03d}.mp4"
        _write(path, _query_frames(parts, fps, size, rng), fps, size, int(rng.integers(23, 33)))
        query = query_video(path, rate=rate)
        _plain(
            tallies["plain vPDQ (whole video)"],
            hash_video(path, rate=rate).frames,
            reg_plain,
            truth,
        )
        for method, (q_names, r_names, distance) in METHODS.items():
            chosen = {n: v.only(r_names) for n, v in reg_variants.items()}
            found = match_segments(query.only(q_names), chosen, distance=distance)
            _score(tallies[method], found, truth)
    return tallies


def _figures(tally: Tally) -> dict[str, float]:
    assert (
        tally.start_errors is not None
        and tally.end_errors is not None
        and tally.per_edit is not None
    )
    errors = [max(s, e) for s, e in zip(tally.start_errors, tally.end_errors, strict=True)]
    out = {
        "precision": tally.correct / tally.found if tally.found else 1.0,
        "recall": tally.recalled / tally.excerpts if tally.excerpts else 0.0,
        "found": float(tally.found),
        "excerpts": float(tally.excerpts),
        "start_median_s": statistics.median(tally.start_errors)
        if tally.start_errors
        else float("nan"),
        "end_median_s": statistics.median(tally.end_errors) if tally.end_errors else float("nan"),
        "within_2s": sum(e <= LOCATE_S for e in errors) / len(errors) if errors else float("nan"),
    }
    for edit, (hit, total) in tally.per_edit.items():
        out[edit] = hit / total if total else float("nan")
    return out


def main() -> None:
    """Run the benchmark and print one table (medians over repeats)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=Path.home() / ".cache/stopframe/corpus")
    parser.add_argument("--recordings", type=int, default=6)
    parser.add_argument("--queries", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.5, help="seconds between hashed frames")
    parser.add_argument(
        "--edits", default=",".join(EDITS), help="edits to draw from, comma-separated"
    )
    args = parser.parse_args()
    started = time.monotonic()
    runs: list[dict[str, dict[str, float]]] = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            tallies = run(
                args.corpus,
                args.recordings,
                args.queries,
                args.seed + repeat,
                args.rate,
                Path(folder),
                tuple(args.edits.split(",")),
            )
        runs.append({method: _figures(tally) for method, tally in tallies.items()})
    print(
        f"{args.recordings} registered recordings of {RECORDING_S:.0f} s, {args.queries} queries, "
        f"rate {args.rate} s, {args.repeats} run(s), {time.monotonic() - started:.0f} s"
    )
    for method in runs[0]:
        med = {key: statistics.median(run[method][key] for run in runs) for key in runs[0][method]}
        print(f"\n{method}")
        print(
            f"  precision {med['precision']:.3f}  recall {med['recall']:.3f}  "
            f"(found {med['found']:.0f}, excerpts {med['excerpts']:.0f})"
        )
        if "plain vPDQ" not in method:
            print(
                f"  localisation: median start error {med['start_median_s']:.2f} s, end "
                f"{med['end_median_s']:.2f} s; both within {LOCATE_S:g} s: {med['within_2s']:.3f}"
            )
        print("  recall per edit: " + ", ".join(f"{edit} {med[edit]:.2f}" for edit in EDITS))


if __name__ == "__main__":
    main()
