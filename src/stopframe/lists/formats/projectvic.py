"""Project VIC (VICS) JSON: an OData document `{"odata.metadata": ..., "value": [Media...]}`.

Each Media object carries `MD5`, optionally `SHA256` (and `SHA1`, PhotoDNA, which are not read),
and may list `MediaFiles` with their own `MD5`/`SHA256`. Categories, file names, paths and every
other field are dropped: the registry keeps hashes only.
"""

from __future__ import annotations

import json

from stopframe.lists.formats import FormatError, ParsedList, load_json, signal_at
from stopframe.signals.base import Signal

METADATA = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"
FIELDS = {"MD5": "md5", "SHA256": "sha256"}


def _hashes(obj: dict, where: str, out: ParsedList) -> bool:
    found = False
    for field, kind in FIELDS.items():
        value = obj.get(field)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise FormatError(f"{where}.{field}: must be text")
        out.signals.append(signal_at(f"{where}.{field}", kind, value))
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
        found = _hashes(item, where, out)
        files = item.get("MediaFiles") or []
        if not isinstance(files, list):
            raise FormatError(f"{where}.MediaFiles: expected an array")
        for index, media_file in enumerate(files):
            if isinstance(media_file, dict):
                found = _hashes(media_file, f"{where}.MediaFiles[{index}]", out) or found
        if not found:
            out.skipped += 1
    return out


def dump(signals: list[Signal]) -> bytes:
    """Write MD5 and SHA-256 signals as Project VIC Media (perceptual kinds are left out)."""
    value = [{"MediaID": number, "MD5" if s.kind.value == "md5" else "SHA256": s.value}
             for number, s in enumerate((s for s in signals if s.kind.value in ("md5", "sha256")), 1)]
    return json.dumps({"odata.metadata": METADATA, "value": value}, indent=1).encode()
