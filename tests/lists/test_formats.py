"""Partner formats: the fixture files parse to the expected hashes, export and re-import losslessly,
type names map through the signal types' aliases, and a kind a format cannot carry is refused
or reported, never dropped silently."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from stopframe.errors import FormatError
from stopframe.lists.formats import FORMATS, get_format, ncmec, projectvic, stopncii, threatexchange
from stopframe.signals import PDQ_ROBUST, SIGNAL_TYPES, VPDQ, Signal

FIXTURES = Path(__file__).parent / "fixtures"


def h(kind: str, text: str) -> str:
    return (hashlib.md5 if kind == "md5" else hashlib.sha256)(text.encode()).hexdigest()


P1, P2 = h("pdq", "fixture-pdq-1"), h("pdq", "fixture-pdq-2")
M1, M2 = h("md5", "fixture-md5-1"), h("md5", "fixture-md5-2")
S1 = h("sha256", "fixture-sha256-1")
VIDEO = VPDQ.parse(f"0,100,{P1},0.000\n1,90,{P2},1.000").value
ROBUST = PDQ_ROBUST.parse(f"whole,90,{P1}\ncrop_centre,80,{P2}", 90).value
FLAT = [Signal("pdq", P1, 77), Signal("md5", M1), Signal("sha256", S1)]
MIXED = [*FLAT, Signal("vpdq", VIDEO), Signal("pdq_robust", ROBUST, 90)]

EXPECTED = {
    "threatexchange.csv": (
        threatexchange.parse_csv,
        [("pdq", P1, 90), ("pdq", P2, None), ("md5", M1, None), ("sha256", S1, None)],
        1,
    ),
    "threatexchange.txt": (threatexchange.parse_text, [("pdq", P1, None), ("md5", M2, None)], 1),
    "stopncii.json": (stopncii.parse, [("pdq", P1, 100), ("md5", M1, None)], 1),
    "ncmec.xml": (ncmec.parse, [("md5", M1, None), ("pdq", P2, None), ("md5", M2, None)], 1),
    "projectvic.json": (
        projectvic.parse,
        [("md5", M1, None), ("md5", M2, None), ("sha256", S1, None)],
        1,
    ),
}
CARRIES = {
    "threatexchange-csv": set(SIGNAL_TYPES),
    "threatexchange-text": {"pdq", "md5", "sha256"},
    "stopncii-json": set(SIGNAL_TYPES),
    "ncmec-xml": {"pdq", "md5", "sha256"},
    "projectvic-json": {"md5", "sha256"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_files_parse(name: str) -> None:
    parse, signals, skipped = EXPECTED[name]
    parsed = parse((FIXTURES / name).read_bytes())
    assert [(s.kind, s.value, s.quality) for s in parsed.signals] == signals
    assert parsed.skipped == skipped


def test_project_vic_categories_stay_beside_their_signals() -> None:
    data = json.dumps(
        {
            "value": [
                {"Category": 1, "MD5": M1, "MediaFiles": [{"SHA256": S1}]},
                {"MD5": M2},
                {"Category": "", "SHA256": S1},
            ]
        }
    ).encode()
    parsed = projectvic.parse(data)
    assert [s.value for s in parsed.signals] == [M1, S1, M2, S1]
    assert parsed.categories == {0: "1", 1: "1"}


def test_what_each_format_carries() -> None:
    assert {
        name: {t for t in SIGNAL_TYPES if f.carries(SIGNAL_TYPES[t])} for name, f in FORMATS.items()
    } == CARRIES


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_export_then_import_round_trips_what_the_format_carries(fmt: str) -> None:
    list_format = FORMATS[fmt]
    kept = [s for s in MIXED if s.kind in CARRIES[fmt]]
    exported = list_format.dump(kept)
    assert exported.left_out == {}
    back = list_format.parse(exported.data).signals
    assert [(s.kind, s.value) for s in back] == [(s.kind, s.value) for s in kept]
    if fmt in ("threatexchange-csv", "stopncii-json"):
        assert [s.quality for s in back] == [s.quality for s in kept]


@pytest.mark.parametrize("fmt", sorted(f for f in FORMATS if CARRIES[f] != set(SIGNAL_TYPES)))
def test_a_kind_the_format_cannot_carry_is_refused_by_default(fmt: str) -> None:
    cannot = sorted({s.kind for s in MIXED} - CARRIES[fmt])
    with pytest.raises(FormatError, match=f"{fmt} cannot carry {', '.join(cannot)}"):
        FORMATS[fmt].dump(MIXED)


@pytest.mark.parametrize("fmt", sorted(f for f in FORMATS if CARRIES[f] != set(SIGNAL_TYPES)))
def test_a_partial_export_reports_what_it_left_out(fmt: str) -> None:
    exported = FORMATS[fmt].dump(MIXED, partial=True)
    assert exported.left_out == {s.kind: 1 for s in MIXED if s.kind not in CARRIES[fmt]}
    back = FORMATS[fmt].parse(exported.data).signals
    assert len(back) + sum(exported.left_out.values()) == len(MIXED)


def test_the_raw_writers_refuse_what_they_cannot_carry() -> None:
    robust = Signal("pdq_robust", ROBUST, 90)
    for dump in (threatexchange.dump_text, ncmec.dump, projectvic.dump):
        with pytest.raises(FormatError, match="pdq_robust"):
            dump([robust])


def test_type_names_map_through_aliases_in_any_case() -> None:
    data = (
        b"signal_type,signal\nHASH_PDQ,%s\nvideo_md5,%s\nPhoto_MD5,%s\nhash_sha256,%s\nphash,00\n"
        % (P1.encode(), M1.encode(), M2.encode(), S1.encode())
    )
    parsed = threatexchange.parse_csv(data)
    assert [s.kind for s in parsed.signals] == ["pdq", "md5", "md5", "sha256"]
    assert parsed.skipped == 1
    parsed = stopncii.parse(
        b'{"hashes": [{"hashType": "hash_md5", "hashValue": "%s"}]}' % M1.encode()
    )
    assert [s.kind for s in parsed.signals] == ["md5"]


def test_text_format_refuses_a_multi_line_kind_with_advice() -> None:
    with pytest.raises(FormatError, match="line 1: vpdq needs several lines; use the CSV format"):
        threatexchange.parse_text(b"vpdq 0,100," + P1.encode() + b",0.0\n")


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(FormatError, match="unknown format 'pickle'; use one of ncmec-xml"):
        get_format("pickle")


@pytest.mark.parametrize(
    ("parse", "data", "needle"),
    [
        (stopncii.parse, b'{"hashes": [{"hashType": "MD5", "hashValue": "xyz"}]}', "hashes[0]"),
        (stopncii.parse, b"[]", "'hashes'"),
        (projectvic.parse, b'{"value": [{"MD5": 5}]}', "value[0].MD5"),
        (ncmec.parse, b"<queryResult><images><image>", "XML"),
        (ncmec.parse, b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>', "XML"),
        (threatexchange.parse_csv, b"kind,value\n", "signal_type"),
    ],
)
def test_malformed_files_name_the_problem(parse, data: bytes, needle: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError) as caught:
        parse(data)
    assert needle in str(caught.value)
