"""StopNCII hash-sharing JSON.

StopNCII shares hashes made on the victim's device: PDQ for images and MD5 for videos, with no
media and no personal data. The document is `{"hashes": [{"hashType": "PDQ"|"MD5"|...,
"hashValue": "<text>", "quality": 0-100?, "caseId"?: ...}]}`; fields other than type, value and
quality are not kept. `hashType` is a registered type's name or alias in any case (others are
counted as skipped); JSON text holds any value, so every type is carried, written upper case,
except TMK, written as StopNCII's `VideoTMK` with the `.tmk` file as one line of base64.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from stopframe.errors import FormatError
from stopframe.lists.formats.base import (
    ListFormat,
    ParsedList,
    Record,
    every_type,
    flatten,
    load_json,
    signal_at,
)
from stopframe.signals import SIGNAL_TYPES, TMK, Signal


def parse(data: bytes) -> ParsedList:
    """Read a StopNCII JSON hash list."""
    document = load_json(data)
    hashes = document.get("hashes") if isinstance(document, dict) else None
    if not isinstance(hashes, list):
        raise FormatError("expected an object with a 'hashes' array")
    out = ParsedList()
    for number, item in enumerate(hashes):
        where = f"hashes[{number}]"
        if not isinstance(item, dict) or not isinstance(item.get("hashType"), str):
            raise FormatError(f"{where}: expected an object with hashType and hashValue")
        signal_type = SIGNAL_TYPES.resolve(item["hashType"])
        if signal_type is None:
            out.skipped += 1
            continue
        value, quality = item.get("hashValue"), item.get("quality")
        if not isinstance(value, str) or (quality is not None and type(quality) is not int):
            raise FormatError(f"{where}: hashValue must be text and quality an integer")
        out.signals.append(signal_at(where, signal_type, value, quality))
    return out


def dump(records: Sequence[Signal | Record]) -> bytes:
    """Write signals as a StopNCII JSON hash list, each once."""
    items = []
    for s in flatten(records):
        item: dict[str, object] = {"hashType": s.kind.upper(), "hashValue": s.value}
        if s.kind == TMK.name:
            item.update(hashType="VideoTMK", hashValue="".join(s.value.split()))
        if s.quality is not None:
            item["quality"] = s.quality
        items.append(item)
    return json.dumps({"hashes": items}, indent=1).encode()


FORMAT = ListFormat("stopncii-json", "application/json", parse, dump, every_type)
