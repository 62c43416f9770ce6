"""NCMEC hash-sharing XML, parsed with defusedxml (no DTDs, no entity expansion).

Layout, as NCMEC's industry hash-sharing API returns it: a root (`queryResult`, any namespace)
holding `images/image` and `videos/video` elements, each with `fingerprints` whose children are
named for the algorithm from NCMEC's own vocabulary (`ELEMENTS`). An element whose name means a
registered type (its name or an alias) is read; records carrying only other fingerprints (SHA-1,
PhotoDNA) are counted as skipped. A `TMK_PDQF` element holds a video's `.tmk` file in base64 or
hex and is read as a `tmk` signal. Exports write one record per file, videos under `videos`. A
type with no single-line NCMEC element (vPDQ, robust PDQ sets, TMK) cannot be exported: exports
refuse it or report it left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from stopframe.errors import FormatError
from stopframe.lists.formats.base import (
    ListFormat,
    ParsedList,
    Record,
    as_records,
    name_in,
    signal_at,
)
from stopframe.signals import SIGNAL_TYPES, Signal, SignalType

NAMESPACE = "https://hashsharing.ncmec.org/npo/v1"
ELEMENTS = ("md5", "sha1", "pdna", "pdq", "sha256", "tmk_pdqf")  # NCMEC's fingerprint names


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _element_type(tag: str) -> SignalType | None:
    name = _local(tag)
    return SIGNAL_TYPES.resolve(name) if name in ELEMENTS else None


def parse(data: bytes) -> ParsedList:
    """Read an NCMEC XML hash list."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, LookupError, ValueError) as exc:
        # expat raises LookupError or ValueError for a declared encoding it cannot read
        raise FormatError(f"not acceptable XML: {exc}") from None
    out = ParsedList()
    number = 0
    for record in root.iter():
        if _local(record.tag) not in ("image", "video"):
            continue
        number += 1
        where = f"{_local(record.tag)} #{number}"
        found = False
        for container in record:
            if _local(container.tag) != "fingerprints":
                continue
            for fingerprint in container:
                signal_type = _element_type(fingerprint.tag)
                if signal_type is not None and (fingerprint.text or "").strip():
                    out.signals.append(signal_at(where, signal_type, fingerprint.text or ""))
                    found = True
        if not found:
            out.skipped += 1
    return out


def carries(signal_type: SignalType) -> bool:
    """Whether NCMEC has a fingerprint element for this type."""
    return signal_type.single_line and name_in(ELEMENTS, signal_type) is not None


def dump(items: Sequence[Signal | Record]) -> bytes:
    """Write each record (a file's signals) as one `image`, or one `video` under `videos`, with
    a fingerprint element per signal; FormatError for a type NCMEC has no element for."""
    records = as_records(items)
    root = Element("queryResult", {"xmlns": NAMESPACE})
    for media in ("image", "video"):
        chosen = [r for r in records if (r.media == "video") == (media == "video")]
        container = SubElement(root, f"{media}s", {"count": str(len(chosen))})
        for record in chosen:
            prints = SubElement(SubElement(container, media), "fingerprints")
            for s in record.signals:
                element = name_in(ELEMENTS, s.type)
                if element is None or not carries(s.type):
                    raise FormatError(f"ncmec-xml has no fingerprint element for {s.kind}")
                SubElement(prints, element).text = s.value
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode").encode()


FORMAT = ListFormat("ncmec-xml", "application/xml", parse, dump, carries)
