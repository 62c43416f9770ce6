"""Hash files with pictures' PDQ on a torch device (`signals.pdq_torch`, extra `gpu`): pictures
are read, sniffed and decoded and hashed in batches; every other file (videos, non-media,
unreadable or oversized files) goes through `hash_file` as on the CPU path. Records come in input
order with the fields the CPU path gives.

The device decodes every pixel, as `--path reference` does: the same bits on the CPU device,
nvJPEG's decode of JPEGs on CUDA (goal: within 10 bits), and within a few bits of the default
`fast` path. Dihedral hashes come from the device's DCT blocks; robust registration sets are
hashed on the device too (`signals.pdq_robust_torch`: the CPU path's variants and qualities,
hashes within 2 bits where DCT coefficients tie at the median) from the views of a second,
reduced decode on the CPU; robust query sets stay on the CPU (`signals.pdq_robust`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stopframe.errors import MediaError
from stopframe.hashing.batch import FoundFile, PathItem, iter_files
from stopframe.hashing.files import (
    STATUS_ERROR,
    HashOptions,
    HashRecord,
    attach_robust_sets,
    hash_file,
    with_limits,
)
from stopframe.media.images import decode_image
from stopframe.media.limits import MediaLimits
from stopframe.media.regular import open_regular
from stopframe.media.sniff import SNIFF_BYTES, MediaType, sniff_bytes
from stopframe.signals import MD5, PDQ, SHA256, Signal, pdq_robust_torch, pdq_torch
from stopframe.signals.exact import digests_of_bytes
from stopframe.signals.pdq import Dihedral, PdqHash
from stopframe.signals.pdq_image import FAST_DRAFT_MIN_SIDE
from stopframe.signals.pdq_robust import WorkViews, robust_signal

DEFAULT_BATCH = 64  # pictures per device batch: ~400 MB of decoded 1080p RGB


@dataclass(slots=True)
class _Picture:
    """A picture read and waiting for its batch; `record` already has its exact digests."""

    record: HashRecord
    data: bytes


@dataclass(frozen=True, slots=True)
class DevicePdq:
    """What the device gives for one picture: its size, PDQ and (if asked) dihedral hexes."""

    width: int
    height: int
    pdq: PdqHash
    dihedral: dict[str, str] | None


_PENDING = DevicePdq(0, 0, PdqHash(b"", 0), None)  # a row whose batch is still to run


def hash_paths_on_device(
    paths: Iterable[PathItem],
    options: HashOptions | None = None,
    device: str = "cpu",
    batch: int = DEFAULT_BATCH,
) -> Iterator[HashRecord]:
    """Records for every file under `paths`, in input order, as `hash_paths` gives them, with
    pictures hashed on `device` in batches of at most `batch` files waiting."""
    options = with_limits(options or HashOptions())
    found_options = dataclasses.replace(options, skip_unrecognised=True)
    limits = options.limits
    assert limits is not None  # with_limits sets both limits
    waiting: list[HashRecord] = []  # records from the first unhashed picture on
    pictures: list[_Picture] = []
    for item in iter_files(paths):
        if isinstance(item, HashRecord):
            record = item
        else:
            path, chosen = (
                (item.path, found_options) if isinstance(item, FoundFile) else (item, options)
            )
            picture = _read_picture(path, limits)
            if picture is None:
                record = hash_file(path, chosen)
            else:
                record = picture.record
                pictures.append(picture)
        if not pictures:
            yield record
            continue
        waiting.append(record)
        if len(waiting) >= batch:
            _hash_pictures(pictures, options, device)
            yield from waiting
            pictures, waiting = [], []
    if pictures:
        _hash_pictures(pictures, options, device)
    yield from waiting


def _read_picture(path: str, limits: MediaLimits) -> _Picture | None:
    """The file's bytes and a record with its digests when it is a regular file whose content
    is a picture within the size limit; None sends it to `hash_file`, which says why not."""
    try:
        with open_regular(path) as handle:
            head = handle.read(SNIFF_BYTES)
            sniffed = sniff_bytes(head)
            if sniffed is None or sniffed.media_type is not MediaType.IMAGE:
                return None
            data = head + handle.read(limits.max_file_bytes + 1 - len(head))
    except (MediaError, OSError):
        return None
    if len(data) > limits.max_file_bytes:
        return None
    exact = digests_of_bytes(data)
    record = HashRecord(
        path=path,
        media_type=sniffed.media_type.value,
        format=sniffed.format,
        signals=[Signal(MD5.name, exact.md5), Signal(SHA256.name, exact.sha256)],
        sha1=exact.sha1,
    )
    return _Picture(record, data)


def _hash_pictures(pictures: Sequence[_Picture], options: HashOptions, device: str) -> None:
    """Fill in each picture's record from one device batch; as in `hash_file`, a failure becomes
    the record's error and never stops the run."""
    items = [(picture.data, picture.record.path) for picture in pictures]
    try:
        results = pdq_on_device(items, device, options.limits, options.dihedral)
    except Exception as exc:
        for picture in pictures:
            _internal_error(picture.record, exc)
        return
    robust: list[tuple[HashRecord, WorkViews]] = []
    for picture, result in zip(pictures, results, strict=True):
        record = picture.record
        try:
            if isinstance(result, MediaError):
                raise result
            record.width, record.height = result.width, result.height
            record.signals.insert(0, Signal(PDQ.name, result.pdq.hex, result.pdq.quality))
            record.dihedral = result.dihedral
            views = _robust_views(picture, options)
            if views is not None:
                robust.append((record, views))
        except MediaError as exc:
            record.status, record.error = STATUS_ERROR, exc.reason
            record.failure = type(exc).__name__
        except Exception as exc:
            _internal_error(record, exc)
    _add_robust(robust, options, device)


def _internal_error(record: HashRecord, exc: Exception) -> None:
    record.status = STATUS_ERROR
    record.error = f"internal error while hashing: {type(exc).__name__}: {exc}"


def _robust_views(picture: _Picture, options: HashOptions) -> WorkViews | None:
    """The shrunk and trimmed views robust sets start from, from a second, reduced decode on the
    CPU as `hash_file` makes them; None when no robust set is asked for."""
    if not (options.robust or options.robust_query):
        return None
    record = picture.record
    decoded = decode_image(
        picture.data, record.path, options.limits, draft_min_side=FAST_DRAFT_MIN_SIDE
    )
    return WorkViews.of(np.asarray(decoded.image.convert("RGB")))


def _add_robust(
    pictures: Sequence[tuple[HashRecord, WorkViews]], options: HashOptions, device: str
) -> None:
    """Registration sets of the batch on `device` (`signals.pdq_robust_torch`), query sets on
    the CPU; a failure becomes the records' error."""
    if not pictures:
        return
    try:
        registered = (
            pdq_robust_torch.register_hashes_batch([views for _, views in pictures], device)
            if options.robust
            else [[] for _ in pictures]
        )
    except Exception as exc:
        for record, _ in pictures:
            _internal_error(record, exc)
        return
    query_only = dataclasses.replace(options, robust=False)
    for (record, views), hashes in zip(pictures, registered, strict=True):
        try:
            if hashes:
                record.signals.insert(1, robust_signal(hashes))
            attach_robust_sets(record, views, query_only)
        except Exception as exc:
            _internal_error(record, exc)


def pdq_on_device(
    items: Sequence[tuple[bytes, str]],
    device: str,
    limits: MediaLimits | None = None,
    dihedral: bool = False,
) -> list[DevicePdq | MediaError]:
    """Decode and hash (data, name) pairs on `device`, equal sizes batched together, in order:
    each picture's oriented size, PDQ and (with `dihedral`) its 8 variants, or its error."""
    decoded = pdq_torch.decode_batch(items, device, limits)
    out: list[DevicePdq | MediaError] = [
        item if isinstance(item, MediaError) else _PENDING for item in decoded
    ]
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for row, item in enumerate(decoded):
        if not isinstance(item, MediaError):
            by_shape.setdefault(tuple(item.shape), []).append(row)
    for (_, height, width), rows in by_shape.items():
        batch = pdq_torch.pdq_batch(_stack([decoded[row] for row in rows]))
        variants = _dihedral_hexes(batch) if dihedral else [None] * len(rows)
        for row, pdq, variant in zip(rows, batch.hashes(), variants, strict=True):
            out[row] = DevicePdq(width, height, pdq, variant)
    return out


def _stack(images: list[Any]) -> Any:
    """(3, H, W) tensors of one size as a (B, 3, H, W) batch."""
    import torch  # type: ignore[import-not-found, unused-ignore]

    return torch.stack(images)


def _dihedral_hexes(batch: pdq_torch.TorchPdqBatch) -> list[dict[str, str]]:
    """Each image's 8 dihedral PDQ hexes keyed as the CPU path keys them (e.g. "rotate_90")."""
    columns = {variant.name.lower(): batch.dihedral(variant) for variant in Dihedral}
    count = len(columns["original"])
    return [{name: digests[row].hex() for name, digests in columns.items()} for row in range(count)]
