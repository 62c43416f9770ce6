"""Write the committed seed corpus, `seeds/<target>/`, from code: tiny benign pictures and clips,
valid hash values and small valid partner files. Run `python -m tests.fuzz.seeds` to rebuild it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.hostile.images import encode, gif_many_frames, gradient

from stopframe.signals import SIGNAL_TYPES, Signal

SEEDS = Path(__file__).parent / "seeds"
PDQ_HEX = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
MD5_HEX = "d41d8cd98f00b204e9800998ecf8427e"
SHA256_HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
VPDQ_TEXT = f"0,100,{PDQ_HEX},0.000\n1,87,{PDQ_HEX},1.000"
ROBUST_TEXT = f"whole,100,{PDQ_HEX}\ntrim,90,{PDQ_HEX}"


def image_seeds() -> dict[str, bytes]:
    """One tiny picture per decoded format and a few colour modes."""
    small = gradient((16, 12))
    return {
        "gradient.png": encode(small, "PNG"),
        "gradient.jpg": encode(small, "JPEG"),
        "gradient.gif": encode(small.convert("L"), "GIF"),
        "gradient.webp": encode(small, "WEBP"),
        "gradient.bmp": encode(small, "BMP"),
        "gradient.tif": encode(small, "TIFF"),
        "cmyk.jpg": encode(small.convert("CMYK"), "JPEG"),
        "grey16.png": encode(gradient((16, 12), "I").convert("I;16"), "PNG"),
        "palette-alpha.png": encode(small.convert("P"), "PNG", transparency=0),
        "animated.gif": gif_many_frames(3),
    }


def video_seeds() -> dict[str, bytes]:
    """Tiny clips in the common containers (empty when PyAV is not installed)."""
    try:
        from tests.hostile.videos import clip
    except ImportError:
        return {}
    return {
        "clip.mp4": clip(".mp4", "libx264", frames=4, faststart=True),
        "clip.webm": clip(".webm", "libvpx", frames=4),
        "clip.mkv": clip(".mkv", "mpeg4", frames=4),
    }


def signal_seeds() -> dict[str, bytes]:
    """A valid value of each registered type, behind the type-selecting first byte."""
    values = {"pdq": PDQ_HEX, "pdq_robust": ROBUST_TEXT, "vpdq": VPDQ_TEXT, "md5": MD5_HEX,
              "sha256": SHA256_HEX}  # fmt: skip
    return {
        f"{name}.txt": bytes([index]) + values[name].encode()
        for index, name in enumerate(SIGNAL_TYPES)
        if name in values
    }


def format_seeds(name: str) -> dict[str, bytes]:
    """A small valid file of format `name`, written by its own writer, and a hand-made one."""
    from stopframe.lists.formats import get_format  # the 'lists' extra (defusedxml)

    signals = [
        Signal("pdq", PDQ_HEX, 90),
        Signal("md5", MD5_HEX),
        Signal("sha256", SHA256_HEX),
        Signal("vpdq", VPDQ_TEXT),
    ]
    written = get_format(name).dump(signals, partial=True).data
    extra = {
        "threatexchange-csv": b'signal_type,signal,quality\npdq,"' + PDQ_HEX.encode() + b'",50\n',
        "threatexchange-text": b"# comment\npdq " + PDQ_HEX.encode() + b"\nurl x\n",
        "stopncii-json": json.dumps({"hashes": [{"hashType": "PDNA", "hashValue": "x"}]}).encode(),
        "ncmec-xml": b"<queryResult><videos><video><fingerprints><md5>"
        + MD5_HEX.encode()
        + b"</md5></fingerprints></video></videos></queryResult>",
        "projectvic-json": json.dumps(
            {"value": [{"Category": 1, "MediaFiles": [{"SHA256": SHA256_HEX}]}]}
        ).encode(),
    }[name]
    return {"written": written, "hand-made": extra}


def all_seeds() -> dict[str, dict[str, bytes]]:
    """Seeds by fuzz target, then by file name."""
    formats = {
        "threatexchange_csv": "threatexchange-csv",
        "threatexchange_text": "threatexchange-text",
        "stopncii": "stopncii-json",
        "ncmec": "ncmec-xml",
        "projectvic": "projectvic-json",
    }
    seeds = {"image": image_seeds(), "video": video_seeds(), "signals": signal_seeds()}
    return seeds | {target: format_seeds(name) for target, name in formats.items()}


def main() -> None:
    """Rewrite `seeds/` from code."""
    for target, files in all_seeds().items():
        folder = SEEDS / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)


if __name__ == "__main__":
    main()
