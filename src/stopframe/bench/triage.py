"""Triage benchmark: a synthetic seized collection built from the benign corpus with known ground
truth, the metrics that score a grouping against it, and the methods compared on it.

The collection holds distinct originals (photos as 1080p-class JPEGs, recordings) with derived
copies (re-encodes, resizes, crops, pads, mirrors, screenshots; video re-encodes, rescales, trims)
and compilations of excerpts, under random benign names in a nested folder tree, plus a few files
that are not media. Scores: distinct-count error, BCubed precision/recall/F1 over files, the
number of distinct originals merged into another's group, and files per second.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from stopframe.bench import transforms
from stopframe.bench.corpus import NEAR_DUPLICATE_DISTANCE, list_images
from stopframe.bench.images import load_rgb
from stopframe.errors import MediaError
from stopframe.signals.pdq import PDQ, Dihedral, digest_matrix, hamming_matrix, pdq_from_rgb
from stopframe.signals.pdq_robust import REGISTER_CROPS, REGISTER_ROTATIONS
from stopframe.triage.model import IMAGE, VIDEO, TriageFile
from stopframe.triage.unions import DisjointSets

OTHER = "other"  # the media of a file that is not counted (not media, or broken)
ORIGINAL, COPY, COMPILATION, JUNK = "original", "copy", "compilation", "junk"
FILES_DIR = "files"  # the collection, under the output folder beside truth.json
TRUTH_FILE = "truth.json"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".ogv", ".mpg", ".mpeg"}
LONG_SIDE = 1920  # originals are 1080p-class JPEGs, the speed goal's input
MIN_SIDE = 200  # smaller photos are icons, not pictures
MIN_CLIP_S = 0.5  # shorter clips are stills, not recordings
FPS = 25
MIN_TRIM_S = 3.0  # shorter recordings are not trimmed (a part would be a few frames)
MIN_EXCERPT_SOURCE_S = 2.0
PLAIN_PDQ_RADIUS = PDQ.default_threshold
GROUPING_GOAL_PICTURES = 100_000  # the grouping goal: this many hashed pictures in 60 s
PICTURE_EDITS = ("reencode", "resize_0.5", "resize_0.75", "crop", "pad", "mirror", "screenshot")
PICTURE_EDITS_ALL = (*PICTURE_EDITS, "exact")
VIDEO_EDITS = ("reencode", "rescale", "trim")
_FOLDERS = (
    "",
    "DCIM/100CANON",
    "DCIM/Camera",
    "DCIM/2014",
    "Pictures/holiday 2016",
    "Pictures/Screenshots",
    "Downloads",
    "WhatsApp/Media/WhatsApp Images",
    "backup/old phone/DCIM",
    "Videos",
    "Desktop/new folder",
    "Documents/scans/2019",
)
_PICTURE_NAMES = (
    "IMG_{n:04d}",
    "DSC{n:05d}",
    "IMG-2019{m:02d}{d:02d}-WA{n:04d}",
    "photo_{n}",
    "{x}",
)
_VIDEO_NAMES = ("VID_2019{m:02d}{d:02d}_{n:06d}", "vid_{n:04d}", "MOV_{n:04d}", "clip{n}", "{x}")
_NOTES = "shopping list\nbread, apples, coffee\ncall the garage on monday\n"


# -- ground truth --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TruthFile:
    """One file of the collection: its path (relative to the files folder, with /), its media
    type (image, video, or other for non-media and broken files), its true cluster (None when it
    is not counted), its role (original, copy, compilation, junk), how it was made and from which
    corpus file (empty for generated content)."""

    path: str
    media: str
    cluster: str | None
    role: str
    edit: str
    source: str = ""


@dataclass(frozen=True)
class GroundTruth:
    """Every file of a built collection with its cluster. Picture clusters are `p-NNNN`, recording
    clusters `v-NNN` (copies, rescales and trims share their original's), and each compilation is
    its own cluster `comp-N`, which is not a distinct recording."""

    files: tuple[TruthFile, ...]
    seed: int = 0
    params: dict[str, object] = field(default_factory=dict)

    def labels(self, media: str) -> dict[str, str]:
        """Path -> true cluster of every counted file of `media`."""
        return {f.path: f.cluster for f in self.files if f.media == media and f.cluster}

    def originals(self, media: str) -> dict[str, str]:
        """Path -> cluster of the file each cluster of `media` was made from (its original, or
        the compilation itself)."""
        return {
            f.path: f.cluster
            for f in self.files
            if f.media == media and f.cluster and f.role in (ORIGINAL, COMPILATION)
        }

    @property
    def distinct_pictures(self) -> int:
        return len(set(self.labels(IMAGE).values()))

    @property
    def distinct_recordings(self) -> int:
        return sum(1 for f in self.files if f.media == VIDEO and f.role == ORIGINAL)

    @property
    def compilations(self) -> int:
        return sum(1 for f in self.files if f.role == COMPILATION)

    def count(self, media: str) -> int:
        """Counted files of `media`."""
        return len(self.labels(media))

    def to_json(self) -> str:
        return json.dumps(
            {
                "seed": self.seed,
                "params": self.params,
                "distinct_pictures": self.distinct_pictures,
                "distinct_recordings": self.distinct_recordings,
                "compilations": self.compilations,
                "files": [asdict(f) for f in self.files],
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> GroundTruth:
        data = json.loads(text)
        files = tuple(TruthFile(**item) for item in data["files"])
        return cls(files, int(data["seed"]), dict(data["params"]))

    @classmethod
    def load(cls, out: Path) -> GroundTruth:
        """The truth of the collection built into `out`."""
        return cls.from_json((Path(out) / TRUTH_FILE).read_text())


# -- metrics -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BCubed:
    precision: float
    recall: float
    f1: float


def bcubed(truth: Mapping[str, str], predicted: Mapping[str, str]) -> BCubed:
    """BCubed over the items of `truth`: per item, precision = |predicted cluster ∩ true cluster|
    / |predicted cluster| and recall = the same / |true cluster|, averaged over items. Items not in
    `predicted` are singletons; predicted items not in `truth` are ignored."""
    if not truth:
        return BCubed(1.0, 1.0, 1.0)
    pred = {item: predicted.get(item, f"\0missing:{item}") for item in truth}
    joint = Counter((truth[item], pred[item]) for item in truth)
    true_size, pred_size = Counter(truth.values()), Counter(pred.values())
    precision = sum(joint[truth[i], pred[i]] / pred_size[pred[i]] for i in truth) / len(truth)
    recall = sum(joint[truth[i], pred[i]] / true_size[truth[i]] for i in truth) / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return BCubed(precision, recall, f1)


def count_error(predicted: int, true: int) -> float:
    """Distinct-count error |predicted - true| / true (0 when both are 0)."""
    if true == 0:
        return 0.0 if predicted == 0 else float("inf")
    return abs(predicted - true) / true


def merged_originals(originals: Mapping[str, str], predicted: Mapping[str, str]) -> int:
    """Distinct originals lost to merging: over predicted groups, the number of distinct true
    clusters whose original file the group holds, minus one. 0 means no predicted group holds
    the originals of two different pictures or recordings; originals not in `predicted` count
    as alone."""
    held: dict[str, set[str]] = {}
    for path, cluster in originals.items():
        if path in predicted:
            held.setdefault(predicted[path], set()).add(cluster)
    return sum(len(clusters) - 1 for clusters in held.values())


def files_per_second(files: int, seconds: float) -> float:
    return files / seconds if seconds > 0 else 0.0


# -- building the collection ---------------------------------------------------------------------


class _Namer:
    """Random benign, unique paths in a nested folder tree, so names do not reveal groups."""

    def __init__(self, root: Path, rng: np.random.Generator) -> None:
        self.root, self.rng, self.used = root, rng, set[str]()

    def _name(self, patterns: tuple[str, ...]) -> str:
        pattern = str(self.rng.choice(patterns))
        n, m, d = (int(v) for v in self.rng.integers((1, 1, 1), (99_999, 13, 29)))
        return pattern.format(n=n, m=m, d=d, x=f"{int(self.rng.integers(0, 2**32)):08x}")

    def path(self, media: str, suffix: str) -> Path:
        """A new file path for `media` (image, video, other) ending in `suffix`."""
        while True:
            folder = str(self.rng.choice(_FOLDERS))
            stem = self._name(_VIDEO_NAMES if media == VIDEO else _PICTURE_NAMES)
            relative = f"{folder}/{stem}{suffix}".lstrip("/")
            if relative.lower() not in self.used:
                self.used.add(relative.lower())
                target = self.root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                return target

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


class _PhotoPicker:
    """Natural corpus photos (`images/` when the corpus has one) in a seeded random order,
    skipping tiny, near-flat and near-duplicate ones
    (any dihedral variant of a photo already taken within `NEAR_DUPLICATE_DISTANCE` bits), so
    every photo taken is a distinct picture."""

    def __init__(self, corpus: Path, rng: np.random.Generator) -> None:
        photos = corpus / "images"  # the natural photos: a phone or camera roll, not star fields
        folder = photos if photos.is_dir() else corpus
        found = [p for p in list_images(folder) if p.suffix.lower() in PHOTO_SUFFIXES]
        self.corpus = corpus
        self.queue = [found[i] for i in rng.permutation(len(found))]
        self.taken: list[bytes] = []

    def take(self) -> tuple[Image.Image, str]:
        """The next usable photo (RGB, long side at most `LONG_SIDE`) and its corpus path."""
        while self.queue:
            path = self.queue.pop(0)
            try:
                image = load_rgb(path, LONG_SIDE)
            except MediaError:
                continue
            if min(image.size) < MIN_SIDE or not self._distinct(image):
                continue
            return image, path.relative_to(self.corpus).as_posix()
        raise ValueError(f"not enough distinct photos under {self.corpus}")

    def _distinct(self, image: Image.Image) -> bool:
        small = image.copy()
        small.thumbnail((512, 512))
        result = pdq_from_rgb(np.asarray(small))
        if result.quality < PDQ.quality_floor:
            return False
        digest = result.hash.digest
        if (
            self.taken
            and hamming_matrix(digest_matrix([digest]), digest_matrix(self.taken)).min(initial=256)
            <= NEAR_DUPLICATE_DISTANCE
        ):
            return False
        self.taken += [h.digest for h in result.all_dihedral().values()]
        return True


def _fit_long_side(image: Image.Image, side: int) -> Image.Image:
    """`image` scaled (up or down) so its long side is `side`."""
    scale = side / max(image.size)
    if scale == 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _crop_sides(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Cut 5-10 % of the width, the height or both, split at random between opposite sides."""
    share = rng.uniform(0.05, 0.10)
    axes = str(rng.choice(["x", "y", "xy"]))
    width, height = image.size
    cut_x = round(width * share) if "x" in axes else 0
    cut_y = round(height * share) if "y" in axes else 0
    left, top = round(cut_x * rng.uniform()), round(cut_y * rng.uniform())
    return image.crop((left, top, width - (cut_x - left), height - (cut_y - top)))


def _pad(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Pad, letterbox or pillarbox by 10-30 % with black or a flat colour."""
    axes = str(rng.choice(["xy", "y", "x"]))
    return transforms.pad(image, rng, rng.uniform(0.1, 0.3), axes, bool(rng.integers(0, 2)))


def _screenshot(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The picture shown in a window and captured: a desktop (1920 x 1080) or phone (1080 x 2340)
    screen with a flat title bar, a flat status bar and a margin around the picture."""
    screen_w, screen_h = ((1920, 1080), (1080, 2340))[int(rng.integers(0, 2))]
    dark = bool(rng.integers(0, 2))
    canvas = Image.new("RGB", (screen_w, screen_h), (18, 18, 20) if dark else (244, 244, 246))
    draw = ImageDraw.Draw(canvas)
    title, status = round(screen_h * 0.05), round(screen_h * 0.035)
    draw.rectangle((0, 0, screen_w, title), fill=(44, 44, 50) if dark else (222, 222, 228))
    bar = tuple(int(v) for v in rng.integers(0, 256, 3))
    draw.rectangle((0, screen_h - status, screen_w, screen_h), fill=bar)
    margin = round(min(screen_w, screen_h) * rng.uniform(0.03, 0.08))
    area_w, area_h = screen_w - 2 * margin, screen_h - title - status - 2 * margin
    fit = min(area_w / image.width, area_h / image.height) * rng.uniform(0.8, 1.0)
    shown = image.resize((round(image.width * fit), round(image.height * fit)))
    canvas.paste(
        shown, ((screen_w - shown.width) // 2, title + margin + (area_h - shown.height) // 2)
    )
    return canvas


_PICTURE_EDIT_FNS: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image]] = {
    "reencode": lambda image, rng: image,
    "resize_0.5": partial(transforms.resize, scale=0.5),
    "resize_0.75": partial(transforms.resize, scale=0.75),
    "crop": _crop_sides,
    "pad": _pad,
    "mirror": partial(transforms.transpose, method="FLIP_LEFT_RIGHT"),
    "screenshot": _screenshot,
}


def _save_picture(image: Image.Image, namer: _Namer, fmt: str, quality: int) -> Path:
    """Write `image` as JPEG (at `quality`), PNG or WebP at a new path."""
    suffix = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}[fmt]
    path = namer.path(IMAGE, suffix)
    options: dict[str, dict[str, int]] = {
        "JPEG": {"quality": quality},
        "PNG": {"compress_level": 1},
        "WEBP": {"quality": quality, "method": 2},
    }
    image.save(path, fmt, **options[fmt])
    return path


def _copy_format(edit: str, rng: np.random.Generator, original_quality: int) -> tuple[str, int]:
    """The format and quality of a derived copy: a re-encode is a JPEG at another quality; other
    edits are mostly JPEG, some PNG or WebP (screenshots mostly PNG)."""
    if edit == "reencode":
        return "JPEG", int(rng.choice([q for q in range(40, 91, 5) if q != original_quality]))
    weights = [0.4, 0.5, 0.1] if edit == "screenshot" else [0.7, 0.15, 0.15]
    return str(rng.choice(["JPEG", "PNG", "WEBP"], p=weights)), int(rng.integers(60, 93))


def _build_pictures(
    picker: _PhotoPicker, namer: _Namer, rng: np.random.Generator, count: int, copies: int
) -> list[TruthFile]:
    """`count` distinct originals, each with 0..`copies` derived copies."""
    out: list[TruthFile] = []
    for number in range(1, count + 1):
        photo, source = picker.take()
        image = _fit_long_side(photo, LONG_SIDE)
        cluster, quality = f"p-{number:04d}", int(rng.integers(85, 96))
        original = _save_picture(image, namer, "JPEG", quality)
        out.append(
            TruthFile(namer.relative(original), IMAGE, cluster, ORIGINAL, "original", source)
        )
        for edit in rng.choice(PICTURE_EDITS_ALL, int(rng.integers(0, copies + 1)), replace=False):
            path, made = _picture_copy(str(edit), image, original, namer, rng, quality)
            out.append(TruthFile(namer.relative(path), IMAGE, cluster, COPY, made, source))
    return out


def _picture_copy(
    edit: str,
    image: Image.Image,
    original: Path,
    namer: _Namer,
    rng: np.random.Generator,
    original_quality: int,
) -> tuple[Path, str]:
    """One derived copy of `image` (written at `original`); returns its path and a description."""
    if edit == "exact":
        path = namer.path(IMAGE, original.suffix)
        shutil.copyfile(original, path)
        return path, "exact"
    fmt, quality = _copy_format(edit, rng, original_quality)
    edited = _PICTURE_EDIT_FNS[edit](image, rng)
    path = _save_picture(edited, namer, fmt, quality)
    return path, f"{edit} {fmt.lower()} q{quality}" if fmt != "PNG" else f"{edit} png"


# -- videos --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Recording:
    """A distinct recording in the collection: its file, cluster, length and frame size."""

    path: Path
    cluster: str
    seconds: float
    size: tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Clip:
    path: Path
    source: str  # the path under the clips folder
    seconds: float
    size: tuple[int, int]
    digests: list[bytes]  # PDQ of one good frame a second, for the distinctness check


def _frame_time(frame: object, index: int, rate: float) -> float:
    value = getattr(frame, "time", None)
    return float(value) if value is not None else index / rate


def _scan_clip(path: Path, folder: Path) -> _Clip | None:
    """Length, frame size and per-second PDQ of a clip; None when it cannot be decoded."""
    import av

    digests, last, size, next_hash = [], 0.0, (0, 0), 0.0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or FPS)
            for index, frame in enumerate(container.decode(stream)):
                last = _frame_time(frame, index, rate)
                size = (frame.width, frame.height)
                if last >= next_hash:
                    scale = min(1.0, 512 / max(size))
                    small = frame.to_ndarray(
                        format="rgb24", width=round(size[0] * scale), height=round(size[1] * scale)
                    )
                    result = pdq_from_rgb(small)
                    if result.quality >= PDQ.quality_floor:
                        digests.append(result.hash.digest)
                    next_hash = last + 1.0
    except (av.FFmpegError, IndexError):
        return None
    source = path.relative_to(folder).as_posix()
    return _Clip(path, source, last + 1 / rate, size, digests) if size[0] else None


def _distinct_clips(folder: Path | None, rng: np.random.Generator) -> list[_Clip]:
    """Clips of `folder` (recursive) in a seeded random order, without those shorter than
    `MIN_CLIP_S` and those with a frame within `NEAR_DUPLICATE_DISTANCE` bits of a clip kept
    earlier in sorted order (takes of one scene are one recording)."""
    if folder is None or not folder.is_dir():
        return []
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    kept: list[_Clip] = []
    for clip in filter(None, (_scan_clip(path, folder) for path in paths)):
        if clip.seconds < MIN_CLIP_S or not clip.digests:
            continue
        if any(_close(clip.digests, other.digests) for other in kept):
            continue
        kept.append(clip)
    return [kept[i] for i in rng.permutation(len(kept))]


def _close(left: list[bytes], right: list[bytes]) -> bool:
    distance = hamming_matrix(digest_matrix(left), digest_matrix(right)).min()
    return bool(distance <= NEAR_DUPLICATE_DISTANCE)


def _even(size: tuple[int, int]) -> tuple[int, int]:
    return max(2, size[0] - size[0] % 2), max(2, size[1] - size[1] % 2)


def _fit_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`frame` scaled to fit inside `size`, centred on black (letterbox or pillarbox)."""
    image = Image.fromarray(frame)
    if image.size == size:
        return frame
    scale = min(size[0] / image.width, size[1] / image.height)
    shown = image.resize(
        (max(2, round(image.width * scale)), max(2, round(image.height * scale))),
        Image.Resampling.BILINEAR,
    )
    if shown.size == size:
        return np.asarray(shown)
    canvas = Image.new("RGB", size)
    canvas.paste(shown, ((size[0] - shown.width) // 2, (size[1] - shown.height) // 2))
    return np.asarray(canvas)


def _sample(path: Path, start: float = 0.0, end: float = float("inf")) -> Iterator[np.ndarray]:
    """RGB frames of the video at `path` between `start` and `end` seconds, at `FPS` (each
    output frame is the source frame showing at that time)."""
    import av

    step, t, shown, last = 1 / FPS, start, None, 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or FPS)
        for index, frame in enumerate(container.decode(stream)):
            last = _frame_time(frame, index, rate)
            while t < min(last, end):
                yield shown if shown is not None else frame.to_ndarray(format="rgb24")
                t += step
            if t >= end:
                return
            shown = frame.to_ndarray(format="rgb24")
    while shown is not None and t < min(end, last + 1 / rate):
        yield shown
        t += step


def _write_mp4(path: Path, frames: Iterable[np.ndarray], size: tuple[int, int], crf: int) -> None:
    """Encode `frames` (fitted to `size`, even) as H.264 at `FPS` into an mp4 file."""
    import av

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream(
            "libx264", rate=FPS, options={"crf": str(crf), "preset": "veryfast"}
        )
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(_fit_frame(rgb, size), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _pan_frames(
    photos: list[Image.Image], seconds: float, size: tuple[int, int], rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """A slow pan and zoom over each photo in turn (one shot per photo), `seconds` in all."""
    per_shot = max(1, round(seconds * FPS / len(photos)))
    for photo in photos:
        aspect = size[0] / size[1]
        base_w = min(photo.width, photo.height * aspect)
        zoom = rng.uniform(1.0, 1.4, 2)
        centre = rng.uniform(0.3, 0.7, (2, 2))
        for k in range(per_shot):
            a = k / max(1, per_shot - 1)
            box_w = base_w / (zoom[0] + (zoom[1] - zoom[0]) * a)
            box_h = box_w / aspect
            cx, cy = centre[0] + (centre[1] - centre[0]) * a
            left = min(max(0.0, cx * photo.width - box_w / 2), photo.width - box_w)
            top = min(max(0.0, cy * photo.height - box_h / 2), photo.height - box_h)
            box = (left, top, left + box_w, top + box_h)
            yield np.asarray(photo.resize(size, Image.Resampling.BILINEAR, box=box))


def _add_clip(clip: _Clip, namer: _Namer, cluster: str) -> _Recording:
    """The clip copied into the collection byte for byte (its own container and codec)."""
    path = namer.path(VIDEO, clip.path.suffix.lower())
    shutil.copyfile(clip.path, path)
    return _Recording(path, cluster, clip.seconds, _even(clip.size))


def _add_generated(
    picker: _PhotoPicker,
    namer: _Namer,
    rng: np.random.Generator,
    cluster: str,
    seconds: tuple[float, float],
    size: tuple[int, int],
) -> tuple[_Recording, str]:
    """A generated recording over 1-3 distinct corpus photos; returns it and its sources."""
    shots = [picker.take() for _ in range(int(rng.integers(1, 4)))]
    length = float(rng.uniform(*seconds))
    path = namer.path(VIDEO, ".mp4")
    _write_mp4(path, _pan_frames([p for p, _ in shots], length, size, rng), size, 20)
    frames = max(1, round(length * FPS / len(shots))) * len(shots)
    return _Recording(path, cluster, frames / FPS, size), " + ".join(s for _, s in shots)


def _video_copy(
    edit: str, recording: _Recording, namer: _Namer, rng: np.random.Generator
) -> tuple[Path, str]:
    """A re-encode (other CRF), rescale (640 wide, or 60 % when smaller) or trim (a contiguous
    60-90 %) of `recording`; returns its path and a description."""
    path = namer.path(VIDEO, ".mp4")
    width, height = recording.size
    if edit == "reencode":
        crf = int(rng.integers(28, 36))
        _write_mp4(path, _sample(recording.path), recording.size, crf)
        return path, f"reencode crf{crf}"
    if edit == "rescale":
        new_w = 640 if width > 800 else round(width * 0.6)
        size = _even((new_w, round(height * new_w / width)))
        _write_mp4(path, _sample(recording.path), size, 23)
        return path, f"rescale {size[0]}x{size[1]}"
    keep = rng.uniform(0.6, 0.9)
    start = rng.uniform(0, 1 - keep) * recording.seconds
    end = start + keep * recording.seconds
    _write_mp4(path, _sample(recording.path, start, end), recording.size, 23)
    return path, f"trim {start:.1f}-{end:.1f} s"


def _compilation(
    recordings: list[_Recording],
    namer: _Namer,
    rng: np.random.Generator,
    excerpt: tuple[float, float],
    size: tuple[int, int],
) -> tuple[Path, str]:
    """Excerpts of 2-4 different recordings, one after the other, letterboxed to `size`."""
    chosen = rng.choice(len(recordings), int(rng.integers(2, min(4, len(recordings)) + 1)), False)
    parts = []
    for index in chosen:
        source = recordings[int(index)]
        length = min(float(rng.uniform(*excerpt)), source.seconds)
        start = float(rng.uniform(0, source.seconds - length))
        parts.append((source, start, start + length))
    path = namer.path(VIDEO, ".mp4")
    frames = (f for source, a, b in parts for f in _sample(source.path, a, b))
    _write_mp4(path, frames, size, 23)
    made = ", ".join(f"{s.cluster} {a:.1f}-{b:.1f} s" for s, a, b in parts)
    return path, f"excerpts of {made}"


@dataclass(frozen=True, slots=True)
class _VideoParams:
    copies: int
    compilations: int
    seconds: tuple[float, float]
    excerpt: tuple[float, float]
    size: tuple[int, int]


def _build_videos(
    picker: _PhotoPicker,
    namer: _Namer,
    rng: np.random.Generator,
    clips: list[_Clip],
    count: int,
    params: _VideoParams,
) -> list[TruthFile]:
    """`count` distinct recordings (clips first, then generated ones) with 0..`params.copies`
    derived copies each, then `params.compilations` compilations."""
    out: list[TruthFile] = []
    recordings: list[_Recording] = []
    for number in range(1, count + 1):
        cluster = f"v-{number:03d}"
        if number <= len(clips):
            clip = clips[number - 1]
            recording, source = _add_clip(clip, namer, cluster), clip.source
        else:
            recording, source = _add_generated(
                picker, namer, rng, cluster, params.seconds, params.size
            )
        recordings.append(recording)
        out += _recording_files(recording, source, namer, rng, params.copies)
    sources = [r for r in recordings if r.seconds >= MIN_EXCERPT_SOURCE_S]
    for number in range(1, params.compilations + 1 if len(sources) >= 2 else 1):
        path, made = _compilation(sources, namer, rng, params.excerpt, params.size)
        out.append(TruthFile(namer.relative(path), VIDEO, f"comp-{number}", COMPILATION, made))
    return out


def _recording_files(
    recording: _Recording, source: str, namer: _Namer, rng: np.random.Generator, copies: int
) -> list[TruthFile]:
    """The truth of a recording and of its 0..`copies` derived copies (made here; no trim of a
    recording shorter than `MIN_TRIM_S`)."""
    cluster = recording.cluster
    out = [TruthFile(namer.relative(recording.path), VIDEO, cluster, ORIGINAL, "original", source)]
    edits = [e for e in VIDEO_EDITS if e != "trim" or recording.seconds >= MIN_TRIM_S]
    for edit in rng.choice(edits, int(rng.integers(0, min(copies, len(edits)) + 1)), False):
        path, made = _video_copy(str(edit), recording, namer, rng)
        out.append(TruthFile(namer.relative(path), VIDEO, cluster, COPY, made, source))
    return out


def _build_junk(picker: _PhotoPicker, namer: _Namer, rng: np.random.Generator) -> list[TruthFile]:
    """Files that are not counted: a text note, a thumbnail database of random bytes, a playlist
    and one JPEG cut off after a third of its bytes."""
    out = []
    for name, data in (
        ("notes.txt", _NOTES.encode()),
        ("Thumbs.db", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()),
        ("playlist.m3u", b"#EXTM3U\nholiday/vid_0001.mp4\n"),
    ):
        path = namer.root / str(rng.choice(_FOLDERS)) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        namer.used.add(namer.relative(path).lower())
        out.append(TruthFile(namer.relative(path), OTHER, None, JUNK, "not media"))
    photo, source = picker.take()
    buffer = io.BytesIO()
    _fit_long_side(photo, LONG_SIDE).save(buffer, "JPEG", quality=90)
    path = namer.path(IMAGE, ".jpg")
    path.write_bytes(buffer.getvalue()[: buffer.tell() // 3])
    out.append(TruthFile(namer.relative(path), OTHER, None, JUNK, "truncated jpeg", source))
    return out


def build_collection(
    corpus: Path,
    out: Path,
    *,
    pictures: int,
    videos: int,
    seed: int,
    clips: Path | None = None,
    copies: int = 4,
    video_copies: int = 3,
    compilations: int | None = None,
    video_seconds: tuple[float, float] = (10.0, 40.0),
    excerpt_seconds: tuple[float, float] = (5.0, 20.0),
    video_size: tuple[int, int] = (640, 360),
) -> GroundTruth:
    """Build a seized-collection stand-in under `out/files` and write `out/truth.json`.

    `pictures` distinct photos from `corpus` (searched recursively) as 1080p-class JPEGs with
    0..`copies` derived copies each; `videos` distinct recordings, the clips under `clips` first
    (takes of one scene count once), then recordings generated over corpus photos
    (`video_seconds` long, `video_size`), each with 0..`video_copies` copies; `compilations`
    (default: one per 6 recordings, at least 1) of 2-4 excerpts of `excerpt_seconds`; four files
    that are not counted. The same arguments give the same files and truth."""
    rng = np.random.default_rng(seed)
    root = Path(out) / FILES_DIR
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    namer, picker = _Namer(root, rng), _PhotoPicker(Path(corpus), rng)
    params = _VideoParams(
        video_copies,
        max(1, videos // 6) if compilations is None else compilations,
        video_seconds,
        excerpt_seconds,
        _even(video_size),
    )
    files = _build_pictures(picker, namer, rng, pictures, copies)
    if videos:
        clip_list = _distinct_clips(clips, rng)[:videos]
        files += _build_videos(picker, namer, rng, clip_list, videos, params)
    files += _build_junk(picker, namer, rng)
    recorded = {
        "pictures": pictures,
        "videos": videos,
        "copies": copies,
        "video_copies": video_copies,
        "compilations": params.compilations,
        "video_seconds": list(video_seconds),
        "excerpt_seconds": list(excerpt_seconds),
        "video_size": list(params.size),
        "clips": str(clips) if clips else None,
    }
    truth = GroundTruth(tuple(sorted(files, key=lambda f: f.path)), seed, recorded)
    (Path(out) / TRUTH_FILE).write_text(truth.to_json())
    return truth


# -- methods -------------------------------------------------------------------------------------


@dataclass
class Grouping:
    """What one method made of the collection: the group of each file it grouped (paths
    relative to the files folder), its distinct counts (None: it does not count that media)."""

    method: str
    files: int
    seconds: float
    labels: dict[str, str]
    distinct_pictures: int | None
    distinct_recordings: int | None = None
    note: str = ""


def picture_files(root: Path) -> list[Path]:
    """Files under `root` whose name says picture: what the picture-only methods are given."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def video_files(root: Path) -> list[Path]:
    """Files under `root` whose name says video: what the video-only methods are given."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def _components(n: int, a: Iterable[int], b: Iterable[int]) -> list[int]:
    """The root (smallest member) of each of n items joined by the pairs (a[i], b[i])."""
    sets = DisjointSets(n)
    sets.union_pairs(np.fromiter(a, np.int64), np.fromiter(b, np.int64))
    return [int(root) for root in sets.labels()]


def run_stopframe(
    root: Path,
    paths: list[Path],
    jobs: int,
    cache: Path | None,
    method: str,
    video_crops: bool = False,
) -> Grouping:
    """Triage `paths` with stopframe; the wall time is the whole run (walk, hash, group)."""
    from stopframe.triage import TriageOptions, run_triage

    start = time.perf_counter()
    result = run_triage(paths, TriageOptions(jobs=jobs, cache=cache, video_crops=video_crops))
    seconds = time.perf_counter() - start
    labels = {
        _relative(f.path, root): f.group_id for f in result.files if f.groupable and f.group_id
    }
    summary = result.summary()
    return Grouping(
        method,
        len(result.files),
        seconds,
        labels,
        _int(summary["distinct_images"]) if _int(summary["images"]) else None,
        _int(summary["distinct_videos"]) if _int(summary["videos"]) else None,
        f"{result.cached} files from the cache"
        + (f", cache file {cache.stat().st_size / 1e6:.1f} MB" if cache and cache.exists() else ""),
    )


def _int(value: object) -> int:
    return int(str(value))


def run_plain_pdq(root: Path, jobs: int) -> Grouping:
    """Baseline: stopframe's PDQ of each picture, grouped by union of pairs within 31 bits
    (`HammingIndex.self_join`) and of equal SHA-256."""
    from stopframe.hashing.batch import hash_paths
    from stopframe.index import HammingIndex

    paths = picture_files(root)
    start = time.perf_counter()
    records = [r for r in hash_paths(paths, jobs=jobs) if r.status == "ok" and r.value("pdq")]
    codes = np.array([list(bytes.fromhex(r.value("pdq") or "")) for r in records], np.uint8)
    pairs = HammingIndex.build(np.arange(len(records)), codes.reshape(-1, 32)).self_join(
        PLAIN_PDQ_RADIUS
    )
    first: dict[str, int] = {}
    same = [(first.setdefault(r.value("sha256") or "", i), i) for i, r in enumerate(records)]
    roots = _components(
        len(records),
        [*pairs.id_a.tolist(), *(a for a, _ in same)],
        [*pairs.id_b.tolist(), *(b for _, b in same)],
    )
    seconds = time.perf_counter() - start
    labels = {_relative(r.path, root): f"pdq-{g}" for r, g in zip(records, roots, strict=True)}
    return Grouping("plain PDQ (31 bits + SHA-256)", len(paths), seconds, labels, len(set(roots)))


def run_imagededup(root: Path, jobs: int) -> Grouping | str:
    """Baseline: imagededup's PHash `find_duplicates` over the folder at its default threshold,
    groups by union of the duplicate map; a string saying why when imagededup is unavailable."""
    try:
        from imagededup.methods import PHash
    except Exception as exc:  # ImportError, or a broken install of its heavy dependencies
        return f"imagededup unavailable: {type(exc).__name__}: {exc}"
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("imagededup"):
            logging.getLogger(name).setLevel(logging.ERROR)
    start = time.perf_counter()
    duplicates = PHash(verbose=False).find_duplicates(
        image_dir=root, recursive=True, num_enc_workers=jobs, num_dist_workers=jobs
    )
    keys = sorted(duplicates)
    number = {key: i for i, key in enumerate(keys)}
    pairs = [(number[k], number[d]) for k in keys for d in duplicates[k] if d in number]
    roots = _components(len(keys), [a for a, _ in pairs], [b for _, b in pairs])
    seconds = time.perf_counter() - start
    labels = {Path(k).as_posix(): f"dedup-{g}" for k, g in zip(keys, roots, strict=True)}
    method = "imagededup PHash (distance <= 10)"
    return Grouping(method, len(picture_files(root)), seconds, labels, len(set(roots)))


# -- scoring and reporting -----------------------------------------------------------------------


def score(truth: GroundTruth, grouping: Grouping) -> dict[str, object]:
    """The figures of one method: files, seconds, files/s, and per media it counts: true and
    predicted distinct counts, count error, BCubed P/R/F1 and merged originals."""
    out: dict[str, object] = {
        "method": grouping.method,
        "files": grouping.files,
        "seconds": round(grouping.seconds, 3),
        "files_per_s": round(files_per_second(grouping.files, grouping.seconds), 1),
        "note": grouping.note,
    }
    for key, media, predicted, true in (
        ("pictures", IMAGE, grouping.distinct_pictures, truth.distinct_pictures),
        ("recordings", VIDEO, grouping.distinct_recordings, truth.distinct_recordings),
    ):
        if predicted is not None:
            out[key] = _score_media(truth, grouping.labels, media, predicted, true)
    return out


def _score_media(
    truth: GroundTruth, labels: dict[str, str], media: str, predicted: int, true: int
) -> dict[str, object]:
    result = bcubed(truth.labels(media), labels)
    return {
        "true": true,
        "predicted": predicted,
        "count_error": count_error(predicted, true),
        "precision": result.precision,
        "recall": result.recall,
        "f1": result.f1,
        "merged_originals": merged_originals(truth.originals(media), labels),
    }


def describe(truth: GroundTruth) -> str:
    """One line on what the collection holds."""
    junk = sum(1 for f in truth.files if f.cluster is None)
    return (
        f"{len(truth.files)} files: {truth.count(IMAGE)} pictures of {truth.distinct_pictures} "
        f"distinct, {truth.count(VIDEO)} videos of {truth.distinct_recordings} distinct "
        f"recordings + {truth.compilations} compilations, {junk} not counted (seed {truth.seed})"
    )


def table(scored: dict[str, object]) -> list[str]:
    """A method's figures as a small text table."""
    lines = [
        f"== {scored['method']}: {scored['files']} files in {scored['seconds']:.2f} s = "
        f"{scored['files_per_s']:.1f} files/s"
        + (f"  ({scored['note']})" if scored["note"] else ""),
        f"   {'':<11}{'true':>6}{'pred':>7}{'error':>9}{'B3 P':>8}{'B3 R':>8}{'B3 F1':>8}"
        f"{'merged originals':>18}",
    ]
    for key in ("pictures", "recordings"):
        row = scored.get(key)
        if isinstance(row, dict):
            lines.append(
                f"   {key:<11}{row['true']:>6}{row['predicted']:>7}"
                f"{100 * row['count_error']:>8.2f}%{row['precision']:>8.4f}{row['recall']:>8.4f}"
                f"{row['f1']:>8.4f}{row['merged_originals']:>18}"
            )
    return lines


def ratios(ours: dict[str, object], baseline: dict[str, object]) -> str:
    """How `ours` compares with `baseline` on pictures: speed, F1 and count error."""
    a, b = ours["pictures"], baseline["pictures"]
    assert isinstance(a, dict) and isinstance(b, dict)
    speed = float(str(ours["files_per_s"])) / max(float(str(baseline["files_per_s"])), 1e-9)
    return (
        f"   vs {baseline['method']}: files/s x{speed:.2f}, BCubed F1 {a['f1']:.4f} vs "
        f"{b['f1']:.4f}, count error {100 * a['count_error']:.2f} % vs "
        f"{100 * b['count_error']:.2f} %, merged originals {a['merged_originals']} vs "
        f"{b['merged_originals']}"
    )


GOALS = (
    ("picture count error <= 1 %", "pictures", "count_error", lambda v: v <= 0.01),
    ("recording count error <= 1 %", "recordings", "count_error", lambda v: v <= 0.01),
    ("picture BCubed F1 >= 0.98", "pictures", "f1", lambda v: v >= 0.98),
    ("recording BCubed F1 >= 0.98", "recordings", "f1", lambda v: v >= 0.98),
    ("no picture originals merged", "pictures", "merged_originals", lambda v: v == 0),
    ("no recording originals merged", "recordings", "merged_originals", lambda v: v == 0),
)


def goal_lines(full: dict[str, object], speed: dict[str, object] | None) -> list[str]:
    """Met / missed for each goal of the issue (speed: the JPEG-only run's files/s)."""
    lines = []
    for label, key, metric, ok in GOALS:
        row = full.get(key)
        if isinstance(row, dict):
            value = row[metric]
            lines.append(f"   {'met   ' if ok(value) else 'MISSED'} {label} ({value:.4g})")
    if speed is not None:
        rate = float(str(speed["files_per_s"]))
        mark = "met   " if rate >= 150 else "MISSED"
        lines.append(f"   {mark} >= 150 JPEG pictures/s end to end ({rate:.1f})")
    return lines


# -- grouping only -------------------------------------------------------------------------------

_REG_VARIANTS = (
    ("full",)
    + tuple(crop.name for crop in REGISTER_CROPS)
    + tuple(f"rotate{angle:+g}" for angle in REGISTER_ROTATIONS)
)  # 31: the whole picture, its canonical crops and slight rotations
_QUERY_VARIANTS = tuple(f"trim/{d.name.lower()}" for d in Dihedral) + ("trim/despeckled",)


def _noise_pool(rng: np.random.Generator, low: int, high: int, size: int = 4096) -> np.ndarray:
    """`size` random 256-bit masks with between `low` and `high` bits set."""
    bits = np.zeros((size, 256), dtype=np.uint8)
    for row, weight in enumerate(rng.integers(low, high + 1, size)):
        bits[row, rng.choice(256, int(weight), replace=False)] = 1
    return np.packbits(bits, axis=1)


def _set_text(variants: tuple[str, ...], codes: np.ndarray, quality: np.ndarray) -> str:
    return "\n".join(
        f"{v},{int(q)},{c.tobytes().hex()}"
        for v, c, q in zip(variants, codes, quality, strict=True)
    )


def synthetic_pictures(
    n: int, seed: int, copy_share: float = 0.4
) -> tuple[list[TriageFile], dict[str, str]]:
    """`n` hashed pictures as triage files (PDQ, SHA-256, a 31-hash registration set and a 9-hash
    query set each) and their true clusters by path. A `copy_share` of them
    copy another: a quarter exactly (same bytes), the rest near duplicates whose hashes are the
    original's with 4-24 bits flipped. Within one picture, crop and rotation hashes lie 8-48
    bits from the whole-picture hash and the rotated and mirrored query hashes are unrelated
    codes, as in real sets."""
    rng = np.random.default_rng(seed)
    n_orig = max(1, round(n * (1 - copy_share)))
    crops, copies = _noise_pool(rng, 8, 48), _noise_pool(rng, 4, 24)
    base = rng.integers(0, 256, (n_orig, 32), dtype=np.uint8)
    turned = rng.integers(0, 256, (n_orig, 7, 32), dtype=np.uint8)
    owner = np.concatenate([np.arange(n_orig), rng.integers(0, n_orig, n - n_orig)])
    exact = np.zeros(n, dtype=bool)
    exact[n_orig:] = rng.random(n - n_orig) < 0.25
    order = rng.permutation(n)
    files, truth = [], {}
    for number, i in enumerate(order.tolist()):
        o = int(owner[i])
        noise = np.zeros(32, np.uint8) if i < n_orig or exact[i] else copies[rng.integers(4096)]
        reg = np.vstack([base[o], base[o] ^ crops[rng.integers(0, 4096, 30)]]) ^ noise
        query = np.vstack([base[o], turned[o], base[o] ^ crops[rng.integers(4096)]]) ^ noise
        quality = rng.integers(60, 101, 40)
        path = f"synthetic/{number:07d}.jpg"
        sha = hashlib.sha256(f"{o}/{0 if i < n_orig or exact[i] else i}".encode()).hexdigest()
        files.append(
            TriageFile(
                number=number,
                path=path,
                size=int(rng.integers(50_000, 900_000)),
                status="ok",
                media_type=IMAGE,
                format="jpeg",
                width=1920,
                height=1080,
                sha256=sha,
                pdq=reg[0].tobytes().hex(),
                quality=int(quality[0]),
                robust=_set_text(_REG_VARIANTS, reg, quality[:31]),
                robust_query=_set_text(_QUERY_VARIANTS, query, quality[31:40]),
            )
        )
        truth[path] = f"p-{o}"
    return files, truth


def time_grouping(n: int, seed: int) -> dict[str, object]:
    """Time stopframe's grouping step alone on `n` synthetic hashed pictures and score it."""
    from stopframe.triage.groups import group_files

    files, truth = synthetic_pictures(n, seed)
    start = time.perf_counter()
    groups = group_files(files)
    seconds = time.perf_counter() - start
    path_of = {f.number: f.path for f in files}
    labels = {path_of[m]: g.id for g in groups for m in g.members}
    result = bcubed(truth, labels)
    true = len(set(truth.values()))
    return {
        "pictures": n,
        "seconds": round(seconds, 3),
        "pictures_per_s": round(files_per_second(n, seconds), 1),
        "true_distinct": true,
        "groups": len(groups),
        "count_error": count_error(len(groups), true),
        "precision": result.precision,
        "recall": result.recall,
        "f1": result.f1,
    }


def default_clips(corpus: Path) -> Path | None:
    """The corpus clips: `corpus/videos`, else `<corpus>-full/videos` beside it, else None."""
    for folder in (corpus / "videos", corpus.with_name(corpus.name + "-full") / "videos"):
        if folder.is_dir():
            return folder
    return None


# -- one benchmark run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TriageBenchConfig:
    """What `run_benchmark` builds and measures: collection size and seed, where the corpus and
    its clips are, worker processes, and the size of the grouping-only run (0: skip it)."""

    corpus: Path
    out: Path
    pictures: int = 400
    videos: int = 12
    seed: int = 0
    jobs: int = 2
    clips: Path | None = None
    grouping: int = 0
    imagededup: bool = True
    collection: bool = True


def _collection(config: TriageBenchConfig) -> GroundTruth:
    """The collection of `config`, reused when `out` already holds one built the same way."""
    clips = config.clips if config.clips is not None else default_clips(config.corpus)
    wanted = {
        "pictures": config.pictures,
        "videos": config.videos,
        "clips": str(clips) if clips else None,
    }
    try:
        truth = GroundTruth.load(config.out)
    except (OSError, ValueError, KeyError, TypeError):
        truth = None
    if (
        truth is not None
        and truth.seed == config.seed
        and all(truth.params.get(k) == v for k, v in wanted.items())
        and all((config.out / FILES_DIR / f.path).is_file() for f in truth.files)
    ):
        return truth
    return build_collection(
        config.corpus,
        config.out,
        pictures=config.pictures,
        videos=config.videos,
        seed=config.seed,
        clips=clips,
    )


def run_benchmark(
    config: TriageBenchConfig, log: Callable[[str], None] = print
) -> dict[str, object]:
    """Build (or reuse) the collection, run every method on it in this one run, print each
    method's figures as it finishes, then the ratios and the goals, and write `triage.json` and
    `triage.md` into `config.out`. With `config.collection` off, only the grouping timing runs.

    Methods: stopframe on the whole collection (fresh cache, then again from the cache), stopframe
    on the pictures alone (the baselines' input) and on the JPEGs alone (the speed goal's input),
    on the videos alone without and with `video_crops`, plain PDQ and imagededup on the
    pictures."""
    config.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, object] = {"jobs": config.jobs}
    lines: list[str] = []

    def say(*text: str) -> None:
        lines.extend(text)
        for line in text:
            log(line)

    goals: list[str] = []
    if config.collection:
        goals += _score_collection(config, results, say)
    if config.grouping:
        timed = time_grouping(config.grouping, config.seed)
        results["grouping_only"] = timed
        mark = "met   " if float(str(timed["seconds"])) <= 60 else "MISSED"
        say(
            "",
            f"grouping only: {timed['pictures']} hashed pictures in {timed['seconds']} s "
            f"({timed['pictures_per_s']} pictures/s), {timed['groups']} groups of "
            f"{timed['true_distinct']} true, BCubed F1 {float(str(timed['f1'])):.4f}",
        )
        if config.grouping < GROUPING_GOAL_PICTURES:
            mark = "n/a   "  # the goal is for 100k; a smaller run only shows the trend
        goals.append(
            f"   {mark} grouping 100k hashed pictures <= 60 s "
            f"({timed['seconds']} s for {timed['pictures']})"
        )
    say("", "goals:", *goals)
    results["seconds"] = round(time.perf_counter() - started, 1)
    (config.out / "triage.json").write_text(json.dumps(results, indent=1))
    (config.out / "triage.md").write_text("```\n" + "\n".join(lines) + "\n```\n")
    return results


def _score_collection(
    config: TriageBenchConfig, results: dict[str, object], say: Callable[..., None]
) -> list[str]:
    """Every method on the collection: figures into `results`, lines through `say`; returns
    the goal lines."""
    import tempfile

    started = time.perf_counter()
    truth = _collection(config)
    built = time.perf_counter() - started
    say(
        f"collection: {describe(truth)} (built or checked in {built:.0f} s)",
        f"worker processes: {config.jobs}",
        "",
    )
    results["collection"] = describe(truth)
    root = config.out / FILES_DIR

    def measured(key: str, grouping: Grouping) -> dict[str, object]:
        scored = score(truth, grouping)
        results[key] = scored
        say(*table(scored))
        return scored

    with tempfile.TemporaryDirectory(prefix="stopframe-triage-bench-") as scratch:
        cache = Path(scratch) / "cache.sqlite3"
        full = measured(
            "stopframe", run_stopframe(root, [root], config.jobs, cache, "stopframe triage")
        )
        measured(
            "stopframe_cached",
            run_stopframe(root, [root], config.jobs, cache, "stopframe triage, cached"),
        )
        only = Path(scratch) / "pictures.sqlite3"
        pictures_only = measured(
            "stopframe_pictures_only",
            run_stopframe(
                root, picture_files(root), config.jobs, only, "stopframe triage, pictures only"
            ),
        )
        jpegs = [p for p in picture_files(root) if p.suffix.lower() in (".jpg", ".jpeg")]
        speed = measured(
            "stopframe_jpegs_only",
            run_stopframe(
                root,
                jpegs,
                config.jobs,
                Path(scratch) / "jpegs.sqlite3",
                "stopframe triage, JPEGs only (the speed goal's input; other formats' copies "
                "left out, so recall is lower)",
            ),
        )
        videos = video_files(root)
        if videos:  # the cost of --video-crops, and that it merges nothing it should not
            for key, crops, name in (
                ("stopframe_videos_only", False, "stopframe triage, videos only"),
                ("stopframe_videos_crops", True, "stopframe triage --video-crops, videos only"),
            ):
                cached = Path(scratch) / f"{key}.sqlite3"
                measured(key, run_stopframe(root, videos, config.jobs, cached, name, crops))
    baselines = [measured("plain_pdq", run_plain_pdq(root, config.jobs))]
    dedup = run_imagededup(root, config.jobs) if config.imagededup else "imagededup not asked for"
    if isinstance(dedup, Grouping):
        baselines.append(measured("imagededup", dedup))
    else:
        results["imagededup"] = dedup
    say("", *(ratios(pictures_only, b) for b in baselines))
    if isinstance(dedup, str):
        say(f"   {dedup}")
    return goal_lines(full, speed)
