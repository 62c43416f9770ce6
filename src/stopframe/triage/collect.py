"""Hash a collection once: list every file under the given folders, number them in path order
(so results never depend on the order the folders were named in), take what the cache already
holds, hash the rest in worker processes, and stream `TriageFile`s out.

Files are only ever opened for reading; the cache lives elsewhere. A file that cannot be read or
decoded becomes an error record, and the run goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from stopframe.errors import MediaError
from stopframe.hashing.batch import FoundFile, hash_paths, iter_files
from stopframe.hashing.files import STATUS_ERROR, HashOptions, HashRecord
from stopframe.matching.video_geometry import (
    CROP_NAMES,
    frames_of_variant,
    robust_frames,
    triage_video,
)
from stopframe.signals import MD5, PDQ, PDQ_ROBUST, SHA256, VPDQ, VPDQ_ROBUST, Signal, SignalType
from stopframe.signals.vpdq import format_vpdq_lines
from stopframe.signals.vpdq_robust import REGISTER_CROPS, format_robust_lines
from stopframe.triage.cache import CACHE_FORMAT, HashCache, file_key
from stopframe.triage.model import VIDEO, TriageFile

Progress = Callable[[int, int], None]  # (files done, files in all)

# Videos are hashed every 0.04 s (every frame up to 25 fps), not at vPDQ's usual 1 s: a trim,
# re-encode or frame-rate change of a moving scene starts at an arbitrary instant, and frames a
# fraction of a second apart differ by 60-120 bits in handheld footage. Measured on real clips:
# at 1 s two copies shared 0-57 % of their frames, at 0.1 s 67-100 %, every frame 76-100 %.
# Decoding dominates either way (the decoder reads every frame). The cost is memory and cache
# space, ~80 bytes a frame (an hour of video ~7 MB). List checks use one frame a second
# (`known.list_vpdq`), as the lists' own vPDQ hashes have. Each frame also loses its own bars:
# a compilation boxes each part to one frame size, so no bar holds over the clip.
VIDEO_RATE_S = 0.04
MIRROR_KEY = "|mirror"  # cache key suffix of a video's mirrored frames
CROPS_KEY = "|crops"  # cache key suffix of a video's cropped frames (`video_crops`)
TRIAGE_OPTIONS = HashOptions(
    robust=True,
    robust_query=True,
    skip_unrecognised=True,
    video_rate=VIDEO_RATE_S,
    bars_per_frame=True,
)


@dataclass(frozen=True, slots=True)
class Listed:
    """A file of the collection: its path, number, and stat (None when it cannot be read)."""

    number: int
    path: str
    info: os.stat_result | None
    error: str | None = None


def list_collection(paths: Iterable[str | Path]) -> list[Listed]:
    """Every file under `paths`, once each, numbered in path order. A file reached twice (by
    two named folders, or through a symbolic link) is listed once, under the first of its paths
    in sorted order; hard links, being two names a user made, stay two files."""
    found: dict[str, tuple[str, os.stat_result | str]] = {}  # real path -> (path, stat or error)
    for item in iter_files(os.path.abspath(p) for p in paths):
        if isinstance(item, HashRecord):  # a folder that could not be listed
            state: os.stat_result | str = item.error or "cannot list folder"
            path = item.path
        else:
            path = item.path if isinstance(item, FoundFile) else item
            try:
                state = os.stat(path)
            except OSError as exc:
                state = f"cannot read file: {exc.strerror or exc}"
        real = os.path.realpath(path)
        if real not in found or path < found[real][0]:
            found[real] = (path, state)
    return [
        Listed(number, path, None, state) if isinstance(state, str) else Listed(number, path, state)
        for number, (path, state) in enumerate(sorted(found.values(), key=lambda item: item[0]))
    ]


def cache_settings(options: HashOptions) -> str:
    """What, besides the file, decides its record: a change here misses the whole cache."""
    from stopframe import __version__

    return (
        f"triage{CACHE_FORMAT}/{__version__}/robust={options.robust}+{options.robust_query}/"
        f"rate={options.video_rate}/bars={options.remove_bars}+{options.bars_per_frame}/"
        f"path={options.path.value}"
    )


def hash_collection(
    listed: list[Listed],
    cache: HashCache,
    *,
    jobs: int = 1,
    options: HashOptions = TRIAGE_OPTIONS,
    progress: Progress | None = None,
    video_crops: bool = False,
) -> Iterator[tuple[TriageFile, bool]]:
    """Each listed file's `TriageFile`, in number order, with whether it came from the cache;
    with `video_crops`, videos carry their frames' registration crops too."""
    settings = cache_settings(options)
    keys: dict[str, str] = {}
    cached: set[str] = set()

    def items() -> Iterator[FoundFile | HashRecord]:
        for entry in listed:
            if entry.info is None:
                yield HashRecord(path=entry.path, status=STATUS_ERROR, error=entry.error)
                continue
            key = keys[entry.path] = file_key(entry.path, entry.info, settings)
            record = cache.get(key, entry.path)
            if record is not None:
                cached.add(entry.path)
                yield record
            else:
                yield FoundFile(entry.path)

    total = len(listed)
    for done, (entry, record) in enumerate(
        zip(listed, hash_paths(items(), options, jobs), strict=True), 1
    ):
        hit = entry.path in cached
        if not hit and entry.path in keys:
            cache.put(keys[entry.path], record)
        item = to_triage_file(entry, record)
        if item.media_type == VIDEO and item.groupable and entry.path in keys:
            item.vpdq_mirror, item.vpdq_crops = _mirror_and_crops(
                entry.path, keys[entry.path], cache, options, video_crops
            )
        if progress is not None:
            progress(done, total)
        yield item, hit
    cache.flush()


def _mirror_and_crops(
    path: str, key: str, cache: HashCache, options: HashOptions, crops: bool
) -> tuple[str | None, str | None]:
    """A video's mirrored frames and, with `crops`, its frames' registration crops: from the
    cache, or both hashed in one second decode (`variant_lines`) and cached under keys of their
    own, so that runs with and without crops share the mirror."""
    mirror = cache.get(key + MIRROR_KEY, path)
    cropped = cache.get(key + CROPS_KEY, path) if crops else None
    if mirror is None or (crops and cropped is None):
        mirror_text, crops_text = variant_lines(path, options, crops)
        mirror = HashRecord(path, signals=_signals(VPDQ, mirror_text))
        cache.put(key + MIRROR_KEY, mirror)
        if crops:
            cropped = HashRecord(path, signals=_signals(VPDQ_ROBUST, crops_text))
            cache.put(key + CROPS_KEY, cropped)
    return mirror.value(VPDQ.name), cropped.value(VPDQ_ROBUST.name) if cropped else None


def _signals(kind: SignalType, value: str | None) -> list[Signal]:
    return [Signal(kind.name, value)] if value else []


def variant_lines(path: str, options: HashOptions, crops: bool) -> tuple[str | None, str | None]:
    """vPDQ lines of a video's frames mirrored left-right and, with `crops`, vpdq_robust lines of
    their registration crops, each frame without its own bars, at the triage rate: mirrored and
    cropped copies meet their original through them (None for what the file cannot give)."""
    try:
        variants = triage_video(
            path,
            rate=options.video_rate,
            crops=REGISTER_CROPS if crops else (),
            limits=options.video_limits,
        )
    except MediaError:
        return None, None
    if not len(variants):
        return None, None
    mirror = format_vpdq_lines(frames_of_variant(variants, "mirror")).rstrip("\n")
    if not crops:
        return mirror, None
    return mirror, format_robust_lines(robust_frames(variants.only(CROP_NAMES))).rstrip("\n")


def to_triage_file(entry: Listed, record: HashRecord) -> TriageFile:
    """The triage view of one hashed file."""
    pdq = record.signal(PDQ.name)
    return TriageFile(
        number=entry.number,
        path=entry.path,
        size=entry.info.st_size if entry.info else 0,
        status=record.status,
        media_type=record.media_type,
        format=record.format,
        width=record.width,
        height=record.height,
        duration_s=record.duration_s,
        md5=record.value(MD5.name),
        sha1=record.sha1,
        sha256=record.value(SHA256.name),
        pdq=None if pdq is None else pdq.value,
        quality=None if pdq is None else pdq.quality,
        robust=record.value(PDQ_ROBUST.name),
        robust_query=record.robust_query,
        vpdq=record.value(VPDQ.name),
        error=record.error,
    )
