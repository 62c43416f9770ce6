"""Bulk list formats partners use, each a module with `parse(data) -> ParsedList`, a writer and
the test of which signal types it can carry; `FORMATS` names them.

Type names in files are mapped through `SIGNAL_TYPES.resolve` (names and aliases), every value
read is validated by its type, and a bad record fails the whole file with its record number.
"""

from __future__ import annotations

from stopframe.errors import FormatError
from stopframe.lists.formats import ncmec, projectvic, stopncii, threatexchange
from stopframe.lists.formats.base import Exported, ListFormat, ParsedList, Record

FORMATS: dict[str, ListFormat] = {
    f.name: f
    for f in (
        threatexchange.CSV,
        threatexchange.TEXT,
        stopncii.FORMAT,
        ncmec.FORMAT,
        projectvic.FORMAT,
    )
}


def get_format(name: str) -> ListFormat:
    """The format called `name`, or FormatError listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise FormatError(
            f"unknown format {name!r}; use one of {', '.join(sorted(FORMATS))}"
        ) from None


__all__ = ["FORMATS", "Exported", "FormatError", "ListFormat", "ParsedList", "Record", "get_format"]
