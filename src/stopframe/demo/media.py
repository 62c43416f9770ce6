"""The demo's benign media, made on the spot: the victim's files (the shipped sample pictures and
a generated clip), the platform's uploads (edited copies of them beside unrelated pictures and
clips) and an investigator's seized folder. Every upload states the decision it must get."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from stopframe.samples import sample_images

CLIP_SIZE = (320, 180)
CLIP_FPS = 25
SCENE_SECONDS = 4
SCENES = 3  # the victim's clip: three scenes of slowly drifting texture, 12 s in all


@dataclass(frozen=True)
class Upload:
    """A file a platform receives: what it is and the decision a working system gives it."""

    path: Path
    what: str
    expect: str  # "block" (a copy of a registered file) or "none" (unrelated)
    copy_of: str | None = None  # the victim's file it was made from
    seized: bool = True  # also in the seized folder (triage does not group cropped videos yet)


@dataclass(frozen=True)
class SeizedTruth:
    """What triage of the seized folder must find."""

    pictures: int  # distinct pictures
    recordings: int  # distinct recordings
    known: int  # groups on a list: the victim's files, less the withdrawn one


@dataclass(frozen=True)
class DemoMedia:
    """Where the demo's media lies."""

    victim: list[Path]  # the files the case registers
    uploads: list[Upload]
    seized: Path  # the folder triage sorts
    withdrawn: Path  # the victim's file whose item the case withdraws
    withdrawn_upload: Upload  # an upload of it that stops matching after the withdrawal
    seized_truth: SeizedTruth


def texture(seed: int, size: tuple[int, int]) -> Image.Image:
    """A smooth, structured colour texture (blurred noise at three scales): benign and distinct
    for every seed, with the detail perceptual hashes need."""
    rng = np.random.default_rng(seed)
    width, height = size
    layers = []
    for scale, weight in ((24, 0.6), (8, 0.3), (3, 0.1)):
        small = rng.random((max(2, height // scale), max(2, width // scale), 3)) * 255
        layer = Image.fromarray(small.astype(np.uint8), "RGB").resize(
            size, Image.Resampling.BICUBIC
        )
        layers.append(np.asarray(layer, dtype=np.float32) * weight)
    mixed = Image.fromarray(np.clip(sum(layers), 0, 255).astype(np.uint8), "RGB")
    return ImageOps.autocontrast(mixed.filter(ImageFilter.GaussianBlur(1.2)), cutoff=1)


def _scene_frames(seed: int, seconds: float) -> Iterator[np.ndarray]:
    """Frames of one scene: a window drifting across a larger texture."""
    width, height = CLIP_SIZE
    canvas = texture(seed, (width * 2, height * 2))
    frames = int(seconds * CLIP_FPS)
    for index in range(frames):
        step = index / max(1, frames - 1)
        left, top = round(step * width * 0.8), round(step * height * 0.5)
        yield np.asarray(canvas.crop((left, top, left + width, top + height)))


def clip_frames(seeds: list[int]) -> Iterator[np.ndarray]:
    """The frames of a clip made of one scene per seed."""
    for seed in seeds:
        yield from _scene_frames(seed, SCENE_SECONDS)


def write_clip(
    path: Path,
    frames: Iterator[np.ndarray],
    size: tuple[int, int] = CLIP_SIZE,
    crf: int = 23,
) -> Path:
    """Encode frames as H.264 MP4 (each frame scaled to `size`)."""
    import av  # the video extra; the demo checks for it before it starts

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=CLIP_FPS)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": str(crf)}
        for rgb in frames:
            image = Image.fromarray(rgb, "RGB")
            if image.size != size:
                image = image.resize(size, Image.Resampling.BILINEAR)
            frame = av.VideoFrame.from_ndarray(np.asarray(image), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _save(image: Image.Image, path: Path, quality: int = 85) -> Path:
    image.convert("RGB").save(path, "JPEG", quality=quality)
    return path


def _reencoded(image: Image.Image) -> Image.Image:
    return image.resize((image.width * 7 // 10, image.height * 7 // 10), Image.Resampling.LANCZOS)


def _cropped(image: Image.Image) -> Image.Image:
    dx, dy = image.width // 12, image.height // 12
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def _letterboxed(image: Image.Image) -> Image.Image:
    bar = image.height // 5
    canvas = Image.new("RGB", (image.width, image.height + 2 * bar), (0, 0, 0))
    canvas.paste(image, (0, bar))
    return canvas


PICTURE_EDITS = (
    ("re-encoded at 70 % size, JPEG quality 60", _reencoded, 60),
    ("letterboxed (black bars above and below)", _letterboxed, 85),
    ("mirrored", lambda image: ImageOps.mirror(image), 85),
    ("cropped by 1/12 on every side", _cropped, 85),
    ("rotated a quarter turn", lambda image: image.transpose(Image.Transpose.ROTATE_90), 85),
)


def _picture_uploads(victim: list[Path], unrelated: Path, folder: Path) -> list[Upload]:
    """Edited copies of the victim's pictures (each edit cycling over them), an exact copy, the
    unrelated sample picture and two generated textures."""
    uploads = []
    for number, (what, edit, quality) in enumerate(PICTURE_EDITS):
        source = victim[number % len(victim)]
        with Image.open(source) as image:
            path = _save(
                edit(image.convert("RGB")), folder / f"upload-{number + 1:02d}.jpg", quality
            )
        uploads.append(Upload(path, f"{source.name} {what}", "block", source.name))
    exact = folder / f"upload-{len(uploads) + 1:02d}{victim[0].suffix}"
    shutil.copyfile(victim[0], exact)
    uploads.append(Upload(exact, f"{victim[0].name}, the very same bytes", "block", victim[0].name))
    other = folder / f"upload-{len(uploads) + 1:02d}.jpg"
    with Image.open(unrelated) as image:
        _save(image.convert("RGB"), other, 80)
    uploads.append(
        Upload(other, f"an unrelated photo ({unrelated.name}, never registered)", "none")
    )
    for seed in (101, 202):
        path = _save(texture(seed, (640, 480)), folder / f"upload-{len(uploads) + 1:02d}.jpg")
        uploads.append(Upload(path, "an unrelated generated picture", "none"))
    return uploads


def _clip_uploads(clip: Path, seeds: list[int], folder: Path) -> list[Upload]:
    """The victim's clip smaller and recompressed, trimmed to its middle, cropped, and an
    unrelated clip."""
    start = len(list(folder.iterdir())) + 1
    names = [folder / f"upload-{start + i:02d}.mp4" for i in range(4)]
    write_clip(names[0], clip_frames(seeds), size=(224, 126), crf=32)
    frames = list(clip_frames(seeds))
    cut = len(frames) // 4
    write_clip(names[1], iter(frames[cut : len(frames) - cut]))
    height, width = frames[0].shape[:2]
    top, left = round(height * 0.08), round(width * 0.08)
    write_clip(names[2], (frame[top:, left:] for frame in frames))
    write_clip(names[3], clip_frames([s + 1000 for s in seeds]))
    return [
        Upload(names[0], f"{clip.name} at 70 % size, recompressed", "block", clip.name),
        Upload(names[1], f"{clip.name} trimmed to its middle half", "block", clip.name),
        Upload(
            names[2],
            f"{clip.name} cropped 8 % at the top and left",
            "block",
            clip.name,
            seized=False,
        ),  # fmt: skip
        Upload(names[3], "an unrelated generated clip", "none"),
    ]


def _seized(uploads: list[Upload], victim: list[Path], folder: Path) -> SeizedTruth:
    """An investigator's folder: every upload, a second copy of one, and the originals of two
    victim files under other names; and what triage must make of it."""
    nested = folder / "phone" / "DCIM"
    nested.mkdir(parents=True)
    uploads = [upload for upload in uploads if upload.seized]
    for upload in uploads:
        shutil.copyfile(upload.path, folder / upload.path.name)
    shutil.copyfile(uploads[0].path, nested / "IMG_0001.jpg")
    shutil.copyfile(victim[1], nested / "IMG_0002.jpg")
    shutil.copyfile(victim[-1], nested / "VID_0001.mp4")

    def distinct(clips: bool) -> int:
        mine = [u for u in uploads if (u.path.suffix == ".mp4") == clips]
        return len({u.copy_of for u in mine if u.copy_of}) + sum(1 for u in mine if not u.copy_of)

    known = len({u.copy_of for u in uploads if u.copy_of})
    return SeizedTruth(distinct(clips=False), distinct(clips=True), known - 1)


def make_media(root: Path) -> DemoMedia:
    """Write the victim's files, the uploads and the seized folder under `root`."""
    samples = sample_images()
    victim_dir, uploads_dir, seized_dir = root / "victim", root / "uploads", root / "seized"
    for folder in (victim_dir, uploads_dir, seized_dir):
        folder.mkdir(parents=True)
    pictures = [victim_dir / p.name for p in samples[:-1]]
    for source, target in zip(samples, pictures, strict=False):
        shutil.copyfile(source, target)
    seeds = [11, 12, 13]
    clip = write_clip(victim_dir / "sample-clip.mp4", clip_frames(seeds))
    uploads = _picture_uploads(pictures, samples[-1], uploads_dir)
    uploads += _clip_uploads(clip, seeds, uploads_dir)
    truth = _seized(uploads, [*pictures, clip], seized_dir)
    return DemoMedia([*pictures, clip], uploads, seized_dir, pictures[0], uploads[0], truth)
