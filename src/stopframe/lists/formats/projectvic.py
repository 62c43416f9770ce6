"""Project VIC (VICS) JSON: an OData document `{"odata.metadata": ..., "value": [Media...]}`.

Each Media object carries hash fields from Project VIC's own vocabulary (`FIELDS`: `MD5`,
`SHA256`, `SHA1`, `PhotoDNA`) and may list `MediaFiles` with their own. A field whose name means
a registered type (its name or an alias) is read; SHA-1 and PhotoDNA are not. A Media's
`Category` is kept beside its signals (triage reports it); file names, paths and every other
field are dropped: the registry keeps hashes only. Types with no
Project VIC field (perceptual hashes) cannot be carried: exports refuse them or report them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from stopframe.errors import FormatError
from stopframe.lists.formats.base import (
    ListFormat,
    ParsedList,
    Record,
    as_records,
    load_json,
    name_in,
    signal_at,
)
from stopframe.signals import SIGNAL_TYPES, Signal, SignalType

METADATA = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"
FIELDS = ("MD5", "SHA256", "SHA1", "PhotoDNA")  # hash fields Project VIC defines


def _hashes(obj: dict[str, object], where: str, out: ParsedList) -> bool:
    found = False
    for name in FIELDS:
        signal_type = SIGNAL_TYPES.resolve(name)
        value = obj.get(name)
        if signal_type is None or value in (None, ""):
            continue
        if not isinstance(value, str):
            raise FormatError(f"{where}.{name}: must be text")
        out.signals.append(signal_at(f"{where}.{name}", signal_type, value))
        found = True
    return found


def parse(data: bytes) -> ParsedList:
    """Read a Project VIC JSON media list."""
    document = load_json(data)
    media = document.get("value") if isinstance(document, dict) else None
    if not isinstance(media, list):
        raise FormatError("expected an OData object with a 'value' array of Media")
    out = ParsedList()
    for number, item in enumerate(media):
        where = f"value[{number}]"
        if not isinstance(item, dict):
            raise FormatError(f"{where}: expected a Media object")
        first = len(out.signals)
        found = _hashes(item, where, out)
        files = item.get("MediaFiles") or []
        if not isinstance(files, list):
            raise FormatError(f"{where}.MediaFiles: expected an array")
        for index, media_file in enumerate(files):
            if isinstance(media_file, dict):
                found = _hashes(media_file, f"{where}.MediaFiles[{index}]", out) or found
        if not found:
            out.skipped += 1
        category = item.get("Category")
        if isinstance(category, int | str) and not isinstance(category, bool) and category != "":
            out.categories.update(dict.fromkeys(range(first, len(out.signals)), str(category)))
    return out


def carries(signal_type: SignalType) -> bool:
    """Whether Project VIC has a hash field for this type."""
    return signal_type.single_line and name_in(FIELDS, signal_type) is not None


def dump(items: Sequence[Signal | Record]) -> bytes:
    """Write each record (a file's signals) as one Media object holding each signal in its
    Project VIC field; FormatError for a type with no field, or two signals for one field."""
    value = []
    for number, record in enumerate(as_records(items), 1):
        media: dict[str, object] = {"MediaID": number}
        for s in record.signals:
            field = name_in(FIELDS, s.type)
            if field is None or not carries(s.type):
                raise FormatError(f"projectvic-json has no hash field for {s.kind}")
            if field in media:
                raise FormatError(f"Media {number} has two {field} values")
            media[field] = s.value
        value.append(media)
    return json.dumps({"odata.metadata": METADATA, "value": value}, indent=1).encode()


FORMAT = ListFormat("projectvic-json", "application/json", parse, dump, carries)
