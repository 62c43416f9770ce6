"""Hash one file end to end: sniff the content, decode, compute every signal, return a record.

`hash_file` never raises for a bad file: unreadable, unsupported, corrupt or oversized input
gives a record with status "error" and a reason, so a batch always goes on. Dispatch by media
type happens in one place, `_HASHERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from stopframe.config import Settings, load_settings
from stopframe.errors import (
    CorruptMedia,
    LimitExceeded,
    MediaError,
    NotARegularFile,
    UnsupportedFormat,
)
from stopframe.media.images import decode_image
from stopframe.media.limits import MediaLimits, VideoLimits
from stopframe.media.regular import open_regular
from stopframe.media.sniff import SNIFF_BYTES, MediaType, Sniffed, sniff_bytes
from stopframe.signals import MD5, PDQ, SHA256, SIGNAL_TYPES, VPDQ, Signal
from stopframe.signals.exact import CHUNK_BYTES, DigestStream, ExactDigests
from stopframe.signals.pdq_image import FAST_DRAFT_MIN_SIDE, DecodePath, pdq_of_bytes
from stopframe.signals.pdq_robust import (
    RobustHash,
    WorkViews,
    format_robust_set,
    query_hashes,
    register_hashes,
    robust_signal,
)
from stopframe.signals.tmk import TMK, hash_video_tmk, tmk_text
from stopframe.signals.vpdq import hash_video
from stopframe.signals.vpdq_robust import hash_video_robust, robust_video_signal

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_SKIPPED = "skipped"  # not media, found while walking a folder: not a failure
STATUS_PARTIAL = "partial"  # a video that broke off or hit a limit: the frames read are kept
_HEAD_FIELDS = ("path", "status", "media_type", "format", "width", "height")
_STABLE_SIGNAL_FIELDS = ("pdq", "quality", "md5", "sha256", "dihedral", "vpdq")
_TAIL_FIELDS = ("duration_s", "error")


def record_fields() -> tuple[str, ...]:
    """The flat fields of a record (jsonl keys, csv columns): the stable ones in their order,
    then a column for every other registered signal type."""
    extra = tuple(name for name in SIGNAL_TYPES if name not in _STABLE_SIGNAL_FIELDS)
    return _HEAD_FIELDS + _STABLE_SIGNAL_FIELDS + extra + _TAIL_FIELDS


@dataclass(frozen=True, slots=True)
class HashOptions:
    """How to hash: PDQ decode path, whether to add the 8 dihedral PDQ hashes and the robust
    registration set, image and video decode limits (None: from the settings), whether content
    that is neither image nor video gets status "skipped" rather than "error" (used for files
    found in folders), and for videos the seconds between hashed frames (0 = every frame) and
    letterbox removal (clip-wide, and with `bars_per_frame` each frame's own). `robust_query`
    adds a picture's robust query set (`robust_query_of_file`) to the record, from the same
    decode as the registration set: triage compares both. `tmk` adds a video's TMK+PDQF hash
    (a second decode of the file, at 15 frames per second)."""

    path: DecodePath = DecodePath.FAST
    dihedral: bool = False
    robust: bool = False
    limits: MediaLimits | None = None
    video_limits: VideoLimits | None = None
    skip_unrecognised: bool = False
    video_rate: float = 1.0
    remove_bars: bool = True
    robust_query: bool = False
    bars_per_frame: bool = False
    tmk: bool = False


@dataclass(slots=True)
class HashRecord:
    """The signals of one file, with what was learned about it on the way. Fields that do not
    apply (or could not be computed) are None; `dihedral` maps a `Dihedral` name in lowercase
    (e.g. "rotate_90") to its PDQ hex."""

    path: str
    status: str = STATUS_OK
    media_type: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    signals: list[Signal] = field(default_factory=list)
    dihedral: dict[str, str] | None = None
    duration_s: float | None = None
    error: str | None = None
    failure: str | None = None  # the MediaError class behind an "error" status, for services
    sha1: str | None = None  # of the file bytes: no signal type, but case files record it
    robust_query: str | None = None  # the robust query set, when `HashOptions.robust_query`

    def signal(self, kind: str) -> Signal | None:
        """The record's signal of type `kind`, if it has one."""
        return next((item for item in self.signals if item.kind == kind), None)

    def value(self, kind: str) -> str | None:
        """The value of the record's signal of type `kind`, if it has one."""
        item = self.signal(kind)
        return None if item is None else item.value

    def to_dict(self) -> dict[str, object]:
        """Flat fields in `record_fields()` order, ready for JSON: one per signal type, and
        `quality` for PDQ's quality."""
        pdq = self.signal(PDQ.name)
        flat: dict[str, object] = {
            "path": self.path, "status": self.status, "media_type": self.media_type,
            "format": self.format, "width": self.width, "height": self.height,
            "quality": None if pdq is None else pdq.quality, "dihedral": self.dihedral,
            "duration_s": self.duration_s, "error": self.error,
        }  # fmt: skip
        return {name: flat.get(name, self.value(name)) for name in record_fields()}


def _hash_image(data: bytes, record: HashRecord, options: HashOptions, limits: MediaLimits) -> None:
    decoded, result = pdq_of_bytes(data, record.path, options.path, limits)
    record.width, record.height = decoded.width, decoded.height
    record.signals.insert(0, Signal(PDQ.name, result.hash.hex, result.quality))
    if options.dihedral:
        record.dihedral = {v.name.lower(): h.hex for v, h in result.all_dihedral().items()}
    if options.robust or options.robust_query:
        attach_robust_sets(record, WorkViews.of(_rgb(data, record.path, limits)), options)


def attach_robust_sets(record: HashRecord, views: WorkViews, options: HashOptions) -> None:
    """Add the picture's robust registration set (after its PDQ) and query set, as `options`
    ask; a featureless picture gets neither."""
    hashes = register_hashes(views) if options.robust else []
    if hashes:
        record.signals.insert(1, robust_signal(hashes))
    query = query_hashes(views) if options.robust_query else []
    if query:
        record.robust_query = format_robust_set(query)


def _rgb(data: bytes, name: str, limits: MediaLimits) -> np.ndarray:
    """RGB pixels for the robust set, decoded at reduced scale (it works on 256 pixels a side)."""
    decoded = decode_image(data, name, limits, draft_min_side=FAST_DRAFT_MIN_SIDE)
    return np.asarray(decoded.image.convert("RGB"))


def robust_query_of_file(path: str | Path, limits: MediaLimits | None = None) -> list[RobustHash]:
    """The robust query set (trimmed and untrimmed picture, 8 dihedral variants each) of the
    picture at `path`; raises a `MediaError` naming the file when it cannot be decoded."""
    limits = limits or MediaLimits.from_env()
    name = str(path)
    try:
        with open_regular(path) as handle:
            data = handle.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise CorruptMedia(name, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > limits.max_file_bytes:
        raise _too_large(name, limits)
    return query_hashes(_rgb(data, name, limits))


def _hash_video(data: bytes, record: HashRecord, options: HashOptions, limits: MediaLimits) -> None:
    digests = ExactDigests(record.value(MD5.name) or "", record.value(SHA256.name) or "")
    video = hash_video(
        record.path,
        rate=options.video_rate,
        remove_bars=options.remove_bars,
        limits=options.video_limits,
        digests=digests,
        bars_per_frame=options.bars_per_frame,
    )
    record.width, record.height, record.duration_s = video.width, video.height, video.duration_s
    record.signals.insert(0, Signal(VPDQ.name, video.lines().rstrip("\n")))
    if video.partial:
        record.status, record.error = STATUS_PARTIAL, video.partial_reason
    if options.robust:  # registration variants: a second decode, at the registration rate
        frames = hash_video_robust(record.path, limits=options.video_limits)
        record.signals.insert(1, robust_video_signal(frames))
    if options.tmk:
        tmk = hash_video_tmk(record.path, limits=options.video_limits)
        record.signals.insert(1, Signal(TMK.name, tmk_text(tmk.features.to_bytes())))
        if tmk.partial and not video.partial:
            record.status, record.error = STATUS_PARTIAL, tmk.partial_reason


_Hasher = Callable[[bytes, HashRecord, HashOptions, MediaLimits], None]
_HASHERS: dict[MediaType, _Hasher] = {
    MediaType.IMAGE: _hash_image,
    MediaType.VIDEO: _hash_video,
}
_LOADS_BYTES = {MediaType.IMAGE}  # hashers that need the whole file in memory; videos stream


def _read(path: str, limits: MediaLimits) -> tuple[Sniffed | None, bytes | None, DigestStream, int]:
    """One pass over the file: sniff the head, digest everything, and keep the bytes when the
    hasher needs them and the file is within the size limit."""
    digests = DigestStream()
    with open_regular(path) as handle:
        head = handle.read(SNIFF_BYTES)
        sniffed = sniff_bytes(head)
        keep = sniffed is not None and sniffed.media_type in _LOADS_BYTES
        parts = [head]
        kept = len(head)
        digests.update(head)
        while chunk := handle.read(CHUNK_BYTES):
            digests.update(chunk)
            kept += len(chunk)
            if keep and kept <= limits.max_file_bytes:
                parts.append(chunk)
            else:
                keep = False
    return sniffed, (b"".join(parts) if keep else None), digests, kept


def _too_large(name: str, limits: MediaLimits) -> LimitExceeded:
    return LimitExceeded(name, f"file is over the size limit of {limits.max_file_bytes} bytes")


def with_limits(options: HashOptions, settings: Settings | None = None) -> HashOptions:
    """`options` with both limits set, those not given taken from `settings` (default: one read
    of the environment)."""
    if options.limits is not None and options.video_limits is not None:
        return options
    settings = settings or load_settings()
    return replace(
        options,
        limits=options.limits or MediaLimits.from_settings(settings),
        video_limits=options.video_limits or VideoLimits.from_settings(settings),
    )


def hash_file(path: str | Path, options: HashOptions | None = None) -> HashRecord:
    """Sniff, decode and hash the file at `path`; always returns a record (see module doc)."""
    options = options or HashOptions()
    record = HashRecord(path=str(path))
    try:
        options = with_limits(options)
        limits = options.limits
        assert limits is not None  # with_limits sets both limits
        try:
            sniffed, data, digests, size = _read(record.path, limits)
        except NotARegularFile as exc:
            if not options.skip_unrecognised:
                raise
            record.status, record.error = STATUS_SKIPPED, exc.reason
            return record
        exact = digests.result()
        record.signals = [Signal(MD5.name, exact.md5), Signal(SHA256.name, exact.sha256)]
        record.sha1 = exact.sha1
        if size == 0:
            raise CorruptMedia(record.path, "file is empty (0 bytes)")
        if sniffed is None:
            reason = "content is not a recognised image or video"
            if options.skip_unrecognised:
                record.status, record.error = STATUS_SKIPPED, reason
                return record
            raise UnsupportedFormat(record.path, reason)
        record.media_type, record.format = sniffed.media_type.value, sniffed.format
        if sniffed.media_type in _LOADS_BYTES and data is None:
            raise _too_large(record.path, limits)
        _HASHERS[sniffed.media_type](data or b"", record, options, limits)
    except MediaError as exc:
        record.status, record.error = STATUS_ERROR, exc.reason
        record.failure = type(exc).__name__
    except OSError as exc:
        record.status, record.error = STATUS_ERROR, f"cannot read file: {exc.strerror or exc}"
    except ValueError as exc:  # a bad STOPFRAME_* setting
        record.status, record.error = STATUS_ERROR, str(exc)
    except Exception as exc:
        record.status = STATUS_ERROR
        record.error = f"internal error while hashing: {type(exc).__name__}: {exc}"
    return record
