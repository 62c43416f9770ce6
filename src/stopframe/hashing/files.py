"""Hash one file end to end: sniff the content, decode, compute every signal, return a record.

`hash_file` never raises for a bad file: unreadable, unsupported, corrupt or oversized input
gives a record with status "error" and a reason, so a batch always goes on. Dispatch by media
type happens in one place, `_HASHERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stopframe.media.errors import CorruptMedia, LimitExceeded, MediaError, UnsupportedFormat
from stopframe.media.limits import MediaLimits
from stopframe.media.sniff import SNIFF_BYTES, MediaType, Sniffed, sniff_bytes
from stopframe.media.video import NotAVideoError, VideoError, VideoLimitError
from stopframe.signals.exact import CHUNK_BYTES, DigestStream, ExactDigests
from stopframe.signals.pdq_image import DecodePath, pdq_of_bytes
from stopframe.signals.vpdq import hash_video

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_SKIPPED = "skipped"  # not media, found while walking a folder: not a failure
STATUS_PARTIAL = "partial"  # a video that broke off or hit a limit: the frames read are kept
RECORD_FIELDS = (
    "path", "status", "media_type", "format", "width", "height",
    "pdq", "quality", "md5", "sha256", "dihedral", "vpdq", "duration_s", "error",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HashOptions:
    """How to hash: PDQ decode path, whether to add the 8 dihedral PDQ hashes, decode limits
    (None: from STOPFRAME_* environment variables), whether content that is neither image
    nor video gets status "skipped" rather than "error" (used for files found in folders), and
    for videos the seconds between hashed frames (0 = every frame) and letterbox removal."""

    path: DecodePath = DecodePath.FAST
    dihedral: bool = False
    limits: MediaLimits | None = None
    skip_unrecognised: bool = False
    video_rate: float = 1.0
    remove_bars: bool = True


@dataclass(slots=True)
class HashRecord:
    """The signals of one file. Fields that do not apply (or could not be computed) are None;
    `dihedral` maps a `Dihedral` name in lowercase (e.g. "rotate_90") to its PDQ hex; `vpdq`
    holds a video's `frame,quality,pdq_hex,seconds` lines."""

    path: str
    status: str = STATUS_OK
    media_type: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    pdq: str | None = None
    quality: int | None = None
    md5: str | None = None
    sha256: str | None = None
    dihedral: dict[str, str] | None = field(default=None)
    vpdq: str | None = None
    duration_s: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain fields in `RECORD_FIELDS` order, ready for JSON."""
        return asdict(self)


def _hash_image(data: bytes, record: HashRecord, options: HashOptions, limits: MediaLimits):
    decoded, result = pdq_of_bytes(data, record.path, options.path, limits)
    record.width, record.height = decoded.width, decoded.height
    record.pdq, record.quality = result.hash.hex, result.quality
    if options.dihedral:
        record.dihedral = {v.name.lower(): h.hex for v, h in result.all_dihedral().items()}


def _hash_video(data: bytes, record: HashRecord, options: HashOptions, limits: MediaLimits):
    digests = ExactDigests(record.md5 or "", record.sha256 or "")
    try:
        video = hash_video(
            record.path,
            rate=options.video_rate,
            remove_bars=options.remove_bars,
            digests=digests,
        )
    except VideoLimitError as exc:
        raise LimitExceeded(record.path, str(exc)) from None
    except NotAVideoError as exc:
        raise UnsupportedFormat(record.path, str(exc)) from None
    except VideoError as exc:
        raise CorruptMedia(record.path, str(exc)) from None
    record.width, record.height, record.duration_s = video.width, video.height, video.duration_s
    record.vpdq = video.lines().rstrip("\n")
    if video.partial:
        record.status, record.error = STATUS_PARTIAL, video.partial_reason


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
    with open(path, "rb") as handle:
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


def hash_file(path: str | Path, options: HashOptions | None = None) -> HashRecord:
    """Sniff, decode and hash the file at `path`; always returns a record (see module doc)."""
    options = options or HashOptions()
    record = HashRecord(path=str(path))
    try:
        limits = options.limits or MediaLimits.from_env()
        sniffed, data, digests, size = _read(record.path, limits)
        exact = digests.result()
        record.md5, record.sha256 = exact.md5, exact.sha256
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
            raise LimitExceeded(
                record.path, f"file is over the size limit of {limits.max_file_bytes} bytes"
            )
        _HASHERS[sniffed.media_type](data or b"", record, options, limits)
    except MediaError as exc:
        record.status, record.error = STATUS_ERROR, exc.reason
    except OSError as exc:
        record.status, record.error = STATUS_ERROR, f"cannot read file: {exc.strerror or exc}"
    except ValueError as exc:  # a bad STOPFRAME_* setting
        record.status, record.error = STATUS_ERROR, str(exc)
    except Exception as exc:  # noqa: BLE001 - one file's failure must never stop a batch
        record.status = STATUS_ERROR
        record.error = f"internal error while hashing: {type(exc).__name__}: {exc}"
    return record
