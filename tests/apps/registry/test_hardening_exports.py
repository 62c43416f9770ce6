"""Lossless exports: a file's hashes stay together as one record (a video under `<videos>`),
entries without an item go one per record, kinds a format cannot carry are refused or counted,
and what is exported imports back as the same entries."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest
from defusedxml.ElementTree import fromstring

from stopframe.apps.registry.models import Case
from stopframe.apps.registry.services import banks, items, transfer
from stopframe.errors import Invalid
from stopframe.lists.canonical import utcnow
from stopframe.lists.formats import get_format
from stopframe.signals import VPDQ, Signal


def pdq(n: int) -> str:
    """A distinct, valid 64-hex PDQ value."""
    return hashlib.sha256(f"pdq-{n}".encode()).hexdigest()


def md5(n: int) -> str:
    """A distinct, valid MD5 value."""
    return hashlib.md5(f"file-{n}".encode()).hexdigest()


def sha256(n: int) -> str:
    """A distinct, valid SHA-256 value."""
    return hashlib.sha256(f"file-{n}".encode()).hexdigest()


VPDQ_VALUE = VPDQ.parse(f"0,100,{pdq(90)},0.000\n30,90,{pdq(91)},1.000").value
PHOTOS = [
    items.NewItem("photo", [Signal("pdq", pdq(n), 90), Signal("md5", md5(n))]) for n in (1, 2, 3)
]
NUMBERS = itertools.count()
VIDEO = items.NewItem("video", [Signal("md5", md5(4)), Signal("sha256", sha256(4))])


def submit(registry, *new: items.NewItem) -> None:  # type: ignore[no-untyped-def]
    """Open a case and add `new` to the case bank as its items."""
    with registry.db.write() as session:
        case = Case(number=f"T{next(NUMBERS)}", pin_hash="unused", created_at=utcnow())
        session.add(case)
        session.flush()
        bank = banks.case_bank(session, registry.settings.case_bank, "test")
        items.add_items(session, case, bank, list(new), 100)


def export(registry, fmt: str, partial: bool = False):  # type: ignore[no-untyped-def]
    with registry.db.read() as session:
        bank = banks.get_bank(session, registry.settings.case_bank)
        return transfer.export_bank(session, bank, fmt, partial)[0]


def records(xml: bytes, tag: str) -> list[dict[str, str]]:
    """Each `tag` record of an NCMEC file as {fingerprint element: value}."""
    root = fromstring(xml)
    found = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == tag:
            prints = next(c for c in element if c.tag.endswith("fingerprints"))
            found.append({p.tag.rsplit("}", 1)[-1]: p.text for p in prints})
    return found


def test_ncmec_writes_one_record_per_file_and_videos_under_videos(registry) -> None:  # type: ignore[no-untyped-def]
    submit(registry, *PHOTOS, VIDEO)
    data = export(registry, "ncmec-xml").data
    assert records(data, "image") == [{"pdq": pdq(n), "md5": md5(n)} for n in (1, 2, 3)]
    assert records(data, "video") == [{"md5": md5(4), "sha256": sha256(4)}]
    root = fromstring(data)
    (videos,) = [e for e in root if e.tag.endswith("videos")]
    assert videos.get("count") == "1" and len(videos) == 1


def test_project_vic_writes_one_media_per_file_and_counts_what_it_leaves_out(registry) -> None:  # type: ignore[no-untyped-def]
    submit(registry, *PHOTOS, VIDEO)
    with pytest.raises(Invalid, match=r"projectvic-json cannot carry pdq signals \(3 of 8\)"):
        export(registry, "projectvic-json")
    exported = export(registry, "projectvic-json", partial=True)
    assert exported.left_out == {"pdq": 3}
    media = get_format("projectvic-json").parse(exported.data)
    assert [(s.kind, s.value) for s in media.signals] == [
        *[("md5", md5(n)) for n in (1, 2, 3)],
        ("md5", md5(4)),
        ("sha256", sha256(4)),
    ]
    value = json.loads(exported.data)["value"]
    assert [sorted(k for k in m if k != "MediaID") for m in value] == [["MD5"]] * 3 + [
        ["MD5", "SHA256"]
    ]


def test_a_videos_vpdq_is_refused_or_counted_never_dropped(registry) -> None:  # type: ignore[no-untyped-def]
    clip = items.NewItem("video", [Signal("vpdq", VPDQ_VALUE), Signal("md5", md5(5))])
    submit(registry, clip)
    for fmt in ("ncmec-xml", "projectvic-json", "threatexchange-text"):
        with pytest.raises(Invalid, match=f"{fmt} cannot carry vpdq signals"):
            export(registry, fmt)
    partial = export(registry, "ncmec-xml", partial=True)
    assert partial.left_out == {"vpdq": 1}
    assert records(partial.data, "video") == [{"md5": md5(5)}]
    assert records(partial.data, "image") == []
    full = export(registry, "threatexchange-csv")
    assert {
        (s.kind, s.value) for s in get_format("threatexchange-csv").parse(full.data).signals
    } == {
        ("vpdq", VPDQ_VALUE),
        ("md5", md5(5)),
    }


def test_entries_without_an_item_go_one_per_record(registry) -> None:  # type: ignore[no-untyped-def]
    with registry.db.write() as session:
        bank = banks.create_bank(session, "imported", ["pdq", "md5"], "test")
        transfer.import_signals(
            session, bank, [Signal("pdq", pdq(7)), Signal("md5", md5(7))], "test", "test"
        )
    with registry.db.read() as session:
        bank = banks.get_bank(session, "imported")
        data = transfer.export_bank(session, bank, "ncmec-xml")[0].data
    assert records(data, "image") == [{"pdq": pdq(7)}, {"md5": md5(7)}]


@pytest.mark.parametrize("fmt", ["ncmec-xml", "threatexchange-text", "threatexchange-csv"])
def test_what_is_exported_imports_back_as_the_same_entries(registry, fmt: str) -> None:  # type: ignore[no-untyped-def]
    submit(registry, *PHOTOS, VIDEO, items.NewItem("photo", [Signal("pdq", pdq(1), 90)]))
    exported = export(registry, fmt)
    with registry.db.write() as session:
        bank = banks.create_bank(session, "back", ["pdq", "md5", "sha256"], "test")
        transfer.import_file(session, bank, fmt, exported.data, 1000, "test")
    with registry.db.read() as session:
        source = banks.get_bank(session, registry.settings.case_bank)
        again = banks.get_bank(session, "back")
        pairs = [
            {
                (s.kind, s.value)
                for s in get_format("threatexchange-csv")
                .parse(transfer.export_bank(session, b, "threatexchange-csv")[0].data)
                .signals
            }
            for b in (source, again)
        ]
    assert pairs[0] == pairs[1] and len(pairs[0]) == 8
