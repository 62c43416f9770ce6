"""The named transform suite: the edits copies go through when they are re-shared (re-encoding,
resizing, colour changes, overlays, crops, pads, rotations, flips, screenshots, pairs of these).

Every transform is a pure function of (image, numpy Generator): the same seed gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

Fn = Callable[[Image.Image, np.random.Generator], Image.Image]
SIDES = ("left", "top", "right", "bottom")
_WORDS = (
    "sunset",
    "holiday",
    "look at this",
    "weekend",
    "share",
    "photo",
    "2024",
    "lol",
    "garden",
    "river trip",
    "wow",
    "new post",
    "follow",
    "via friend",
)


@dataclass(frozen=True)
class Transform:
    """A named, parameterised edit; `family` groups transforms for the report."""

    name: str
    family: str
    params: dict[str, object] = field(default_factory=dict, hash=False, compare=False)
    fn: Fn = field(default=None, repr=False, hash=False, compare=False)  # type: ignore[assignment]

    def __call__(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        return self.fn(image.convert("RGB"), rng).convert("RGB")


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))  # type: ignore[return-value]


def jpeg(image: Image.Image, rng: np.random.Generator, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def resize(image: Image.Image, rng: np.random.Generator, scale: float) -> Image.Image:
    width, height = image.size
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def squash(image: Image.Image, rng: np.random.Generator, x: float, y: float) -> Image.Image:
    width, height = image.size
    return image.resize(
        (max(8, round(width * x)), max(8, round(height * y))), Image.Resampling.BICUBIC
    )


def blur(image: Image.Image, rng: np.random.Generator, radius: float) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def noise(image: Image.Image, rng: np.random.Generator, sigma: float) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32)
    noisy = pixels + rng.normal(0.0, sigma, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def gamma(image: Image.Image, rng: np.random.Generator, value: float) -> Image.Image:
    table = [round(255 * (i / 255) ** value) for i in range(256)] * 3
    return image.point(table)


def enhance(image: Image.Image, rng: np.random.Generator, kind: str, factor: float) -> Image.Image:
    enhancer = {
        "brightness": ImageEnhance.Brightness,
        "contrast": ImageEnhance.Contrast,
        "saturation": ImageEnhance.Color,
    }[kind]
    return enhancer(image).enhance(factor)


def grayscale(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.grayscale(image).convert("RGB")


def text_overlay(
    image: Image.Image, rng: np.random.Generator, lines: int, size: float
) -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    width, height = out.size
    font = ImageFont.load_default(size=max(8, round(height * size)))
    for _ in range(lines):
        text = " ".join(rng.choice(_WORDS, 2))
        x = int(rng.integers(0, max(1, width // 2)))
        y = int(rng.integers(0, max(1, height - round(height * size))))
        draw.text((x, y), text, fill=_colour(rng), font=font, stroke_width=1, stroke_fill=(0, 0, 0))
    return out


def logo_overlay(image: Image.Image, rng: np.random.Generator, size: float) -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    width, height = out.size
    side = max(8, round(min(width, height) * size))
    corner = int(rng.integers(0, 4))
    x = 8 if corner in (0, 3) else width - side - 8
    y = 8 if corner in (0, 1) else height - side - 8
    draw.ellipse((x, y, x + side, y + side), fill=_colour(rng), outline=(255, 255, 255), width=2)
    draw.rectangle(
        (x + side // 4, y + side // 4, x + 3 * side // 4, y + 3 * side // 4), fill=_colour(rng)
    )
    font = ImageFont.load_default(size=max(8, side // 3))
    draw.text((x + side // 4, y + side // 3), "tv", fill=(255, 255, 255), font=font)
    return out


def border(image: Image.Image, rng: np.random.Generator, share: float) -> Image.Image:
    """A flat frame painted over the picture's edges (content under it is lost)."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    width, height = out.size
    thick = max(1, round(min(width, height) * share))
    colour = _colour(rng)
    for box in (
        (0, 0, width, thick),
        (0, height - thick, width, height),
        (0, 0, thick, height),
        (width - thick, 0, width, height),
    ):
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=colour)
    return out


def crop_centre(image: Image.Image, rng: np.random.Generator, share: float) -> Image.Image:
    """Keep the centre: `share` of the width and of the height is cut, half on each side."""
    width, height = image.size
    dx, dy = round(width * share / 2), round(height * share / 2)
    return image.crop((dx, dy, width - dx, height - dy))


def crop_side(image: Image.Image, rng: np.random.Generator, share: float) -> Image.Image:
    """Cut `share` of the width or height from one side chosen at random."""
    width, height = image.size
    side = SIDES[int(rng.integers(0, 4))]
    dx, dy = round(width * share), round(height * share)
    box = {
        "left": (dx, 0, width, height),
        "right": (0, 0, width - dx, height),
        "top": (0, dy, width, height),
        "bottom": (0, 0, width, height - dy),
    }[side]
    return image.crop(box)


def pad(
    image: Image.Image, rng: np.random.Generator, share: float, axes: str, coloured: bool
) -> Image.Image:
    """Grow the canvas by `share` along `axes` ('xy' pad, 'y' letterbox, 'x' pillarbox), centred."""
    width, height = image.size
    new_w = width + (round(width * share) if "x" in axes else 0)
    new_h = height + (round(height * share) if "y" in axes else 0)
    canvas = Image.new("RGB", (new_w, new_h), _colour(rng) if coloured else (0, 0, 0))
    canvas.paste(image, ((new_w - width) // 2, (new_h - height) // 2))
    return canvas


def rotate(image: Image.Image, rng: np.random.Generator, degrees: float) -> Image.Image:
    """Rotate by `degrees` in a random direction, same canvas, black corners."""
    sign = 1 if rng.integers(0, 2) else -1
    return image.rotate(sign * degrees, resample=Image.Resampling.BILINEAR)


def transpose(image: Image.Image, rng: np.random.Generator, method: str) -> Image.Image:
    return image.transpose(Image.Transpose[method])


def screenshot(image: Image.Image, rng: np.random.Generator, scale: float) -> Image.Image:
    """The picture shown in an app window: scaled into a larger canvas with title, tool and
    side bars holding text and buttons, then captured."""
    width, height = image.size
    canvas_w, canvas_h = round(width * 1.45), round(height * 1.35)
    dark = bool(rng.integers(0, 2))
    background = (24, 24, 28) if dark else (246, 246, 248)
    chrome = (48, 48, 54) if dark else (225, 225, 230)
    ink = (220, 220, 220) if dark else (40, 40, 40)
    canvas = Image.new("RGB", (canvas_w, canvas_h), background)
    draw = ImageDraw.Draw(canvas)
    bar = max(12, canvas_h // 16)
    side_w = canvas_w // 6
    font = ImageFont.load_default(size=max(8, bar // 2))
    draw.rectangle((0, 0, canvas_w, bar), fill=chrome)
    for i, colour in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
        draw.ellipse((8 + i * bar, bar // 4, 8 + i * bar + bar // 2, 3 * bar // 4), fill=colour)
    draw.text((canvas_w // 3, bar // 4), "photo.jpg - Viewer", fill=ink, font=font)
    draw.rectangle((0, bar, side_w, canvas_h), fill=chrome)
    for row in range(2 * bar, canvas_h - bar, bar):
        draw.text((8, row), str(rng.choice(_WORDS)), fill=ink, font=font)
    draw.rectangle((0, canvas_h - bar, canvas_w, canvas_h), fill=chrome)
    draw.text((side_w + 8, canvas_h - 3 * bar // 4), "100%  |  1 of 24", fill=ink, font=font)
    area_w, area_h = canvas_w - side_w, canvas_h - 2 * bar
    fit = min(area_w / width, area_h / height) * scale
    shown = image.resize(
        (max(8, round(width * fit)), max(8, round(height * fit))), Image.Resampling.BILINEAR
    )
    canvas.paste(shown, (side_w + (area_w - shown.width) // 2, bar + (area_h - shown.height) // 2))
    return canvas


def chain(
    image: Image.Image, rng: np.random.Generator, first: Transform, second: Transform
) -> Image.Image:
    return second(first(image, rng), rng)


def _t(name: str, family: str, fn: Callable[..., Image.Image], **params: object) -> Transform:
    return Transform(name, family, dict(params), partial(fn, **params))


def _combo(first: Transform, second: Transform) -> Transform:
    return Transform(
        f"{first.name}+{second.name}",
        "combination",
        {"first": first.name, "second": second.name},
        partial(chain, first=first, second=second),
    )


def build_suite() -> list[Transform]:
    """The full named suite, in report order."""
    suite: list[Transform] = []
    suite += [_t(f"jpeg_q{q}", "jpeg", jpeg, quality=q) for q in (10, 30, 50, 70, 90)]
    suite += [_t(f"resize_{s}x", "resize", resize, scale=s) for s in (0.2, 0.5, 0.8, 1.5, 2.0)]
    suite += [_t(f"blur_r{r}", "blur", blur, radius=r) for r in (1, 3)]
    suite += [_t(f"noise_s{s}", "noise", noise, sigma=s) for s in (10, 25)]
    suite += [_t(f"gamma_{g}", "colour", gamma, value=g) for g in (0.5, 2.0)]
    suite += [
        _t(f"{k}_{f}", "colour", enhance, kind=k, factor=f)
        for k, fs in (
            ("brightness", (0.6, 1.4)),
            ("contrast", (0.5, 1.6)),
            ("saturation", (0.3, 2.0)),
        )
        for f in fs
    ]
    suite += [_t("grayscale", "colour", grayscale)]
    suite += [
        _t("text_small", "overlay", text_overlay, lines=2, size=0.06),
        _t("text_large", "overlay", text_overlay, lines=4, size=0.1),
        _t("logo", "overlay", logo_overlay, size=0.18),
    ]
    suite += [_t(f"border_{p}", "border", border, share=p) for p in (0.02, 0.05)]
    suite += [
        _t(f"crop_centre_{round(p * 100)}", "crop", crop_centre, share=p)
        for p in (0.02, 0.05, 0.1, 0.2)
    ]
    suite += [
        _t(f"crop_side_{round(p * 100)}", "crop", crop_side, share=p)
        for p in (0.02, 0.05, 0.1, 0.2)
    ]
    suite += [
        _t(
            f"pad_{'colour' if c else 'black'}_{round(p * 100)}",
            "pad",
            pad,
            share=p,
            axes="xy",
            coloured=c,
        )
        for c, ps in ((False, (0.05, 0.1, 0.2, 0.3)), (True, (0.1, 0.3)))
        for p in ps
    ]
    suite += [
        _t(f"letterbox_black_{round(p * 100)}", "pad", pad, share=p, axes="y", coloured=False)
        for p in (0.1, 0.2, 0.3)
    ]
    suite += [
        _t("letterbox_colour_20", "pad", pad, share=0.2, axes="y", coloured=True),
        _t("pillarbox_black_30", "pad", pad, share=0.3, axes="x", coloured=False),
    ]
    suite += [_t(f"rotate_{d}", "rotate_small", rotate, degrees=d) for d in (1, 2, 4, 6, 10)]
    suite += [
        _t(f"rotate_{m.split('_')[1]}", "dihedral", transpose, method=m)
        for m in ("ROTATE_90", "ROTATE_180", "ROTATE_270")
    ]
    suite += [
        _t("mirror", "dihedral", transpose, method="FLIP_LEFT_RIGHT"),
        _t("flip_vertical", "dihedral", transpose, method="FLIP_TOP_BOTTOM"),
    ]
    suite += [
        _t("squash_x0.7", "aspect", squash, x=0.7, y=1.0),
        _t("squash_y0.75", "aspect", squash, x=1.0, y=0.75),
    ]
    suite += [_t("screenshot", "screenshot", screenshot, scale=0.9)]
    named = {t.name: t for t in suite}
    pairs = (
        ("jpeg_q50", "resize_0.5x"),
        ("crop_side_5", "jpeg_q50"),
        ("letterbox_black_20", "jpeg_q30"),
        ("text_small", "jpeg_q70"),
        ("mirror", "crop_centre_10"),
        ("rotate_90", "crop_side_5"),
        ("screenshot", "jpeg_q70"),
        ("brightness_1.4", "pad_black_10"),
        ("rotate_4", "jpeg_q50"),
        ("crop_centre_5", "resize_0.5x"),
    )
    suite += [_combo(named[a], named[b]) for a, b in pairs]
    return suite


def select(suite: list[Transform], names: list[str] | None) -> list[Transform]:
    """The transforms named (all when `names` is empty); unknown names raise ValueError."""
    if not names:
        return suite
    by_name = {t.name: t for t in suite}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown transform(s): {', '.join(unknown)}")
    return [by_name[n] for n in names]
