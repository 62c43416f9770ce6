"""Decoding limits, so that a hostile file cannot exhaust memory or time.

Both are plain frozen dataclasses built from the one settings object (`stopframe.config`):
`MediaLimits` for images (STOPFRAME_MAX_FILE_BYTES, STOPFRAME_MAX_PIXELS, STOPFRAME_MAX_SIDE) and
`VideoLimits` for videos (STOPFRAME_MAX_VIDEO_* and friends, with each frame also held to the image
pixel and side limits: the lower limit wins). Either can also be passed explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from stopframe.config import MediaSettings, Settings, VideoSettings, load_settings

_MEDIA = MediaSettings()
_VIDEO = VideoSettings()


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Upper bounds checked before any pixel is decoded (header dimensions) and on file size."""

    max_file_bytes: int = _MEDIA.max_file_bytes
    max_pixels: int = _MEDIA.max_pixels
    max_side: int = _MEDIA.max_side

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_pixels", "max_side"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        """The image limits of `settings`."""
        media = settings.media
        return cls(media.max_file_bytes, media.max_pixels, media.max_side)

    @classmethod
    def from_env(cls) -> MediaLimits:
        """The image limits from STOPFRAME_* variables (`ConfigError` names a bad one)."""
        return cls.from_settings(load_settings())


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """Bounds that keep one hostile video from stalling or exhausting a batch."""

    max_file_bytes: int = _VIDEO.max_video_bytes
    max_pixels: int = _VIDEO.max_frame_pixels  # per frame, width * height
    max_side: int = _MEDIA.max_side  # per frame, the longer side
    max_frames: int = _VIDEO.max_video_frames  # decoded frames; beyond it the result is partial
    max_duration_s: float = _VIDEO.max_video_seconds  # of decoded video; beyond it, partial
    time_budget_s: float | None = _VIDEO.video_time_budget_s  # wall-clock decode budget

    @classmethod
    def from_settings(cls, settings: Settings) -> VideoLimits:
        """The video limits of `settings`; frames take the lower of the video and image limits."""
        video, media = settings.video, settings.media
        return cls(
            max_file_bytes=video.max_video_bytes,
            max_pixels=min(video.max_frame_pixels, media.max_pixels),
            max_side=media.max_side,
            max_frames=video.max_video_frames,
            max_duration_s=video.max_video_seconds,
            time_budget_s=video.video_time_budget_s,
        )

    @classmethod
    def from_env(cls) -> VideoLimits:
        """The video limits from STOPFRAME_* variables (`ConfigError` names a bad one)."""
        return cls.from_settings(load_settings())
