"""NCMEC hash-sharing XML, parsed with defusedxml (no DTDs, no entity expansion).

Layout, as NCMEC's industry hash-sharing API returns it: a root (`queryResult`, any namespace)
holding `images/image` and `videos/video` elements, each with `fingerprints` whose children
are named for the algorithm: `md5`, `sha1`, `pdna`, `pdq`, `sha256`. MD5, SHA-256 and PDQ are
read; records carrying only other fingerprints (SHA-1, PhotoDNA) are counted as skipped.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from stopframe.lists.formats import FormatError, ParsedList, signal_at
from stopframe.signals.base import Signal

NAMESPACE = "https://hashsharing.ncmec.org/npo/v1"
READ = {"md5": "md5", "sha256": "sha256", "pdq": "pdq"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def parse(data: bytes) -> ParsedList:
    """Read an NCMEC XML hash list."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException) as exc:
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
                kind = READ.get(_local(fingerprint.tag))
                if kind is not None and (fingerprint.text or "").strip():
                    out.signals.append(signal_at(where, kind, fingerprint.text or ""))
                    found = True
        if not found:
            out.skipped += 1
    return out


def dump(signals: list[Signal]) -> bytes:
    """Write signals as NCMEC XML: PDQ/MD5/SHA-256 each as one image record (vPDQ left out)."""
    root = Element("queryResult", {"xmlns": NAMESPACE})
    images = SubElement(root, "images")
    count = 0
    for s in signals:
        if s.kind.value == "vpdq":
            continue
        image = SubElement(images, "image")
        SubElement(SubElement(image, "fingerprints"), s.kind.value).text = s.value
        count += 1
    images.set("count", str(count))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode").encode()
