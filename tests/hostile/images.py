"""Hostile image files built from code: bombs, truncations, polyglots and odd colour modes.

Every picture is a benign generated gradient or a flat colour; the hostility is in the container.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable

from PIL import Image

Builders = dict[str, Callable[[], bytes]]


def gradient(size: tuple[int, int] = (96, 64), mode: str = "RGB") -> Image.Image:
    """A smooth benign test picture of `size` in `mode`."""
    return Image.linear_gradient("L").resize(size).convert(mode)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    """`image` written in Pillow format `fmt`."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    crc = struct.pack(">I", zlib.crc32(kind + body))
    return struct.pack(">I", len(body)) + kind + body + crc


def png_raw(width: int, height: int, depth: int, colour: int, idat: bytes, *extra: bytes) -> bytes:
    """A PNG with the given IHDR, IDAT body and extra chunks (inserted before IDAT)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + b"".join(extra)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def zeros_zlib(row_bytes: int, rows: int) -> bytes:
    """zlib data of `rows` rows of `row_bytes` zero bytes, each after a zero filter byte."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (row_bytes + 1)
    return b"".join(packer.compress(row) for _ in range(rows)) + packer.flush()


def png_bomb(side: int, depth: int = 8) -> bytes:
    """A valid flat grey PNG of side x side pixels that compresses to under a megabyte."""
    return png_raw(side, side, depth, 0, zeros_zlib(side * depth // 8, side))


def ztxt_bomb(megabytes: int) -> bytes:
    """A small valid PNG with a zTXt chunk that inflates to `megabytes` of spaces."""
    text = zlib.compress(b" " * (megabytes << 20), 9)
    chunk = png_chunk(b"zTXt", b"note\x00\x00" + text)
    return png_raw(8, 8, 8, 0, zeros_zlib(8, 8), chunk)


def png_rgb16(side: int) -> bytes:
    """A 16-bit-per-channel RGB PNG (colour type 2, depth 16) of flat grey."""
    return png_raw(side, side, 16, 2, zeros_zlib(side * 6, side))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real JPEG whose SOF0 marker is rewritten to claim `width` x `height`."""
    data = bytearray(encode(gradient((16, 16)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_header(width: int, height: int) -> bytes:
    """A GIF89a header with a `width` x `height` screen and a black-and-white colour table."""
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00" * 3 + b"\xff" * 3


def gif_screen(width: int, height: int, frame: tuple[int, int] = (1, 1)) -> bytes:
    """A GIF whose logical screen is `width` x `height` around one tiny frame."""
    header = gif_header(width, height)
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, *frame, 0)
    return header + descriptor + b"\x02\x02\x44\x01\x00;"


def gif_many_frames(count: int) -> bytes:
    """An animated GIF of `count` one-pixel frames (a frame count bomb for frame readers)."""
    header = gif_header(1, 1)
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = b"!\xf9\x04\x00\x01\x00\x00\x00" + b",\x00\x00\x00\x00\x01\x00\x01\x00\x00"
    frame += b"\x02\x02\x44\x01\x00"
    return header + loop + frame * count + b";"


def tiff_claiming(width: int, height: int, strips: int = 1) -> bytes:
    """A little-endian TIFF whose IFD claims `width` x `height` with `strips` strip offsets
    pointing past the end of the file."""
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, strips, 0x7FFFFFF0 if strips == 1 else 8),
        (277, 3, 1, 1),
        (278, 4, 1, max(1, height // strips)),
        (279, 4, strips, 0x7FFFFFF0 if strips == 1 else 8),
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00"


def tiff_i32(side: int) -> bytes:
    """A valid deflate-compressed 32-bit integer grey TIFF of side x side flat pixels."""
    return encode(Image.new("I", (side, side), 7), "TIFF", compression="tiff_adobe_deflate")


def webp_canvas(width: int, height: int) -> bytes:
    """A VP8X WebP declaring a `width` x `height` canvas around a tiny real VP8L image."""
    small = encode(gradient((4, 4)), "WEBP", lossless=True)[12:]
    flags = struct.pack("<I", 0)
    size = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    vp8x = b"VP8X" + struct.pack("<I", 10) + flags + size
    body = b"WEBP" + vp8x + small
    return b"RIFF" + struct.pack("<I", len(body)) + body


def bmp_claiming(width: int, height: int) -> bytes:
    """A BMP header claiming `width` x `height` 24-bit pixels, with almost no pixel data."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + 16, 0, 0, 54) + info + b"\x00" * 16


def exif_orientation(value: int) -> bytes:
    """A JPEG whose EXIF orientation tag holds `value` (valid 1-8, anything else is junk)."""
    exif = Image.Exif()
    exif[0x0112] = value
    return encode(gradient((64, 48)), "JPEG", exif=exif.tobytes())


def exif_garbage() -> bytes:
    """A JPEG whose APP1 EXIF segment is random-looking bytes after the Exif header."""
    data = encode(gradient((64, 48)), "JPEG")
    junk = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + bytes(range(256)) * 4
    app1 = b"\xff\xe1" + struct.pack(">H", len(junk) + 2) + junk
    return data[:2] + app1 + data[2:]


def zip_archive() -> bytes:
    """A tiny zip archive holding one text file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "a benign text file\n")
    return buffer.getvalue()


def truncations(name: str, data: bytes) -> Builders:
    """Copies of `data` cut after 10 bytes, half way and 10 bytes before the end."""
    cuts = {"head": 10, "half": len(data) // 2, "tail": len(data) - 10}
    return {f"truncated-{where}.{name}": (lambda c=cut: data[:c]) for where, cut in cuts.items()}


def image_builders() -> Builders:
    """Every hostile image file by name (the extension is the claimed type)."""
    jpeg = encode(gradient((320, 240)), "JPEG", quality=90)
    png = encode(gradient((320, 240)), "PNG")
    gif = encode(gradient((160, 120), "L"), "GIF")
    webp = encode(gradient((160, 120)), "WEBP")
    builders: Builders = {
        "big-png-12000.png": lambda: png_bomb(12_000),
        "bomb-png-16000.png": lambda: png_bomb(16_000),
        "big-png-16bit-9000.png": lambda: png_bomb(9_000, depth=16),
        "big-png-rgb16-6000.png": lambda: png_rgb16(6_000),
        "bomb-png-header-30000.png": lambda: png_raw(30_000, 30_000, 8, 0, b""),
        "bomb-png-ztxt-64mb.png": lambda: ztxt_bomb(64),
        "bomb-gif-screen-65535.gif": lambda: gif_screen(65_535, 65_535),
        "bomb-gif-frame-65535.gif": lambda: gif_screen(16, 16, (65_535, 65_535)),
        "bomb-jpeg-65535.jpg": lambda: jpeg_claiming(65_535, 65_535),
        "bomb-jpeg-30000x6600.jpg": lambda: jpeg_claiming(30_000, 6_600),
        "big-tiff-i32-7000.tif": lambda: tiff_i32(7_000),
        "bomb-tiff-100000.tif": lambda: tiff_claiming(100_000, 100_000),
        "bomb-tiff-12000-strips.tif": lambda: tiff_claiming(12_000, 12_000, strips=12_000),
        "bomb-webp-canvas-16384.webp": lambda: webp_canvas(16_384, 16_384),
        "bomb-bmp-50000.bmp": lambda: bmp_claiming(50_000, 50_000),
        "bomb-bmp-negative.bmp": lambda: bmp_claiming(20_000, -20_000),
        "frames-gif-100000.gif": lambda: gif_many_frames(100_000),
        "polyglot-jpeg-zip.jpg": lambda: jpeg + zip_archive(),
        "polyglot-zip-jpeg.jpg": lambda: zip_archive() + jpeg,
        "polyglot-png-html.png": lambda: png + b"<html><body><p>benign page</p></body></html>\n",
        "polyglot-gif-js.gif": lambda: b"GIF89a/*" + gif[8:] + b"*/=1;console.log('benign');\n",
        "mode-cmyk.jpg": lambda: encode(gradient(mode="CMYK"), "JPEG"),
        "mode-cmyk.tif": lambda: encode(gradient(mode="CMYK"), "TIFF"),
        "mode-i16.png": lambda: encode(gradient(mode="I").convert("I;16"), "PNG"),
        "mode-i32.tif": lambda: encode(gradient(mode="I"), "TIFF"),
        "mode-float.tif": lambda: encode(gradient(mode="F"), "TIFF"),
        "mode-palette-alpha.png": lambda: encode(gradient(mode="P"), "PNG", transparency=0),
        "mode-1bit.png": lambda: encode(gradient(mode="1"), "PNG"),
        "mode-la.png": lambda: encode(gradient(mode="LA"), "PNG"),
        "mode-rgba.webp": lambda: encode(gradient(mode="RGBA"), "WEBP"),
        "mode-lab.tif": lambda: encode(gradient(mode="LAB"), "TIFF"),
        "mode-ycbcr.jpg": lambda: encode(gradient(mode="YCbCr"), "JPEG"),
        "mode-one-pixel.png": lambda: encode(gradient((1, 1)), "PNG"),
        "mode-strip-1x30000.png": lambda: encode(gradient((1, 30_000), "L"), "PNG"),
        "zero-size-png.png": lambda: png_raw(0, 0, 8, 0, zeros_zlib(0, 0)),
        "zero-size-gif.gif": lambda: gif_screen(0, 0, (0, 0)),
        "exif-orientation-6.jpg": lambda: exif_orientation(6),
        "exif-orientation-junk.jpg": lambda: exif_orientation(65_535),
        "exif-garbage.jpg": exif_garbage,
        "signature-only.jpg": lambda: b"\xff\xd8\xff",
        "signature-only.png": lambda: b"\x89PNG\r\n\x1a\n",
        "signature-only.webp": lambda: b"RIFF\x00\x00\x00\x00WEBP",
        "signature-only.tif": lambda: b"MM\x00*",
        "heic-ftyp-only.heic": lambda: struct.pack(">I", 24) + b"ftypheic\x00\x00\x00\x00mif1heic",
        "avif-ftyp-only.avif": lambda: struct.pack(">I", 20) + b"ftypavif\x00\x00\x00\x00avif",
    }
    for name, data in (("jpg", jpeg), ("png", png), ("gif", gif), ("webp", webp)):
        builders.update(truncations(name, data))
    return builders
