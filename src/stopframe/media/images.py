"""Decode an image file safely: format from the content, limits checked on the header before
any pixel is decoded, EXIF orientation applied, every colour mode converted (see `colour`).

Failures never escape as Pillow's own exceptions: they become `UnsupportedFormat`,
`CorruptMedia` or `LimitExceeded`, each naming the file and the reason.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from stopframe.errors import CorruptMedia, LimitExceeded, MediaError, UnsupportedFormat
from stopframe.media.colour import to_rgb_or_luma
from stopframe.media.limits import MediaLimits
from stopframe.media.sniff import MediaType, sniff_bytes

try:  # HEIC (and AVIF on older Pillow) where the optional wheel is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the optional extra
    HEIF_AVAILABLE = False

_PILLOW_FORMATS = {
    "jpeg": ["JPEG"],
    "png": ["PNG"],
    "gif": ["GIF"],
    "webp": ["WEBP"],
    "bmp": ["BMP"],
    "tiff": ["TIFF"],
    "heic": ["HEIF"],
    "avif": ["AVIF", "HEIF"],
}


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """Pixels ready for hashing: `image` is 8-bit RGB, or L when a luma-only decode was asked
    for; `width` and `height` are the full (oriented) dimensions of the stored image."""

    image: Image.Image
    format: str
    width: int
    height: int


def _check_header(image: Image.Image, name: str, limits: MediaLimits) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise CorruptMedia(name, f"image header gives an empty size {width}x{height}")
    if max(width, height) > limits.max_side:
        raise LimitExceeded(
            name, f"{width}x{height} has a side over the limit of {limits.max_side} px"
        )
    if width * height > limits.max_pixels:
        raise LimitExceeded(
            name,
            f"{width}x{height} = {width * height} pixels is over the limit of "
            f"{limits.max_pixels} (STOPFRAME_MAX_PIXELS); possibly a decompression bomb",
        )


def _draft(image: Image.Image, fmt: str, min_side: int, luma_only: bool) -> None:
    """Let the JPEG decoder scale by 1/2, 1/4 or 1/8 in the DCT domain, keeping both sides at
    least `min_side`; with `luma_only` a YCbCr JPEG decodes its Y channel only."""
    if fmt != "jpeg":
        return
    mode = "L" if luma_only and image.mode == "RGB" else None
    image.draft(mode, (min_side, min_side))


def decode_image(
    data: bytes,
    name: str,
    limits: MediaLimits | None = None,
    *,
    draft_min_side: int | None = None,
    luma_only: bool = False,
) -> DecodedImage:
    """Decode image bytes (the first frame of an animation) into normalised pixels.

    `name` is only used in error messages. `draft_min_side` lets JPEG decode at a reduced scale
    whose sides stay at least that many pixels; `luma_only` allows a grey (L) result.
    """
    limits = limits or MediaLimits.from_env()
    if len(data) > limits.max_file_bytes:
        raise LimitExceeded(
            name, f"file is {len(data)} bytes, over the limit of {limits.max_file_bytes}"
        )
    if not data:
        raise CorruptMedia(name, "file is empty (0 bytes)")
    sniffed = sniff_bytes(data[:512])
    if sniffed is None:
        raise UnsupportedFormat(name, "content is not a recognised image format")
    if sniffed.media_type is not MediaType.IMAGE:
        raise UnsupportedFormat(name, f"content is a {sniffed.format} video, not an image")
    fmt = sniffed.format
    if fmt == "heic" and not HEIF_AVAILABLE:
        raise UnsupportedFormat(name, "HEIC needs the optional pillow-heif package (extra 'heif')")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bomb and corrupt-EXIF warnings: limits decide
            image = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[fmt])
            _check_header(image, name, limits)
            full_size = image.size
            if draft_min_side:
                _draft(image, fmt, draft_min_side, luma_only)
            image.load()
            oriented = _orient(image)
            pixels = to_rgb_or_luma(oriented, allow_luma=luma_only)
            pixels.load()
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        raise LimitExceeded(name, f"decompression bomb refused by the decoder: {exc}") from None
    except MemoryError:
        raise LimitExceeded(name, "not enough memory to decode this image") from None
    except Image.UnidentifiedImageError:
        raise CorruptMedia(name, f"{fmt} signature found but the decoder cannot read it") from None
    except Exception as exc:
        raise CorruptMedia(name, f"cannot decode {fmt}: {exc or type(exc).__name__}") from None
    width, height = full_size
    if _swaps_sides(image):
        width, height = height, width
    return DecodedImage(pixels, fmt, width, height)


def _swaps_sides(image: Image.Image) -> bool:
    """Whether EXIF orientation turns the image on its side (orientations 5 to 8)."""
    try:
        return image.getexif().get(0x0112) in (5, 6, 7, 8)
    except Exception:
        return False


def _orient(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a malformed EXIF block leaves the image as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        return image
