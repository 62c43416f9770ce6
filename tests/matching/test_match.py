"""Matcher over a real index generation: bank rules, ignored entries, and the cap on matches a
degenerate upload can collect without changing its decision."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stopframe.lists.documents import ADD, Change, ListEntry
from stopframe.matching.index_set import IndexSet
from stopframe.matching.index_writer import IndexWriter
from stopframe.matching.match import MAX_MATCHES, Matcher, decide
from stopframe.matching.policy import Decision, Policy
from stopframe.signals import Signal


class Entries:
    def __init__(self, entries: list[ListEntry]) -> None:
        self.by_id = {e.id: e for e in entries}

    def entries_by_id(self, source: str, ids: Sequence[int]) -> dict[int, ListEntry]:
        return {i: self.by_id[i] for i in ids if i in self.by_id}


def _near(base: np.ndarray, bit: int) -> str:
    code = base.copy()
    code[bit // 8] ^= 1 << (bit % 8)
    return bytes(code).hex()


def _matcher(tmp_path: Path, entries: list[ListEntry], policy: Policy) -> Matcher:
    writer = IndexWriter(tmp_path)
    writer.source("reg", "r")
    writer.apply("reg", [Change(i, ADD, e) for i, e in enumerate(entries, start=1)])
    banks = {b: {"name": b, "kinds": ["pdq"], "distance_threshold": 31, "verified": True,
                 "action": "block"} for b in {e.bank for e in entries}}  # fmt: skip
    writer.set_position("reg", len(entries), "k", banks)
    writer.publish()
    index_set = IndexSet(tmp_path)
    index_set.refresh()
    return Matcher(index_set, Entries(entries), policy)


def test_a_degenerate_upload_keeps_only_the_matches_that_decide(tmp_path: Path) -> None:
    base = np.random.default_rng(1).integers(0, 256, 32, dtype=np.uint8)
    entries = [ListEntry(i + 1, "blocks", "pdq", _near(base, i), 90) for i in range(150)]
    entries.append(ListEntry(500, "fixes", "pdq", _near(base, 200), 90))  # 1 bit off, like all
    policy = Policy.from_mapping({"banks": {"fixes": {"allow": True}}})
    matcher = _matcher(tmp_path, entries, policy)
    (matches,) = matcher.match([Signal("pdq", bytes(base).hex(), 90)])
    assert len(matches) == MAX_MATCHES
    assert any(m.allowed for m in matches)  # the allow-list match is never cut
    assert decide(matches) is Decision.NONE

    plain = _matcher(tmp_path / "plain", entries[:150], Policy())
    (matches,) = plain.match([Signal("pdq", bytes(base).hex(), 90)])
    assert len(matches) == MAX_MATCHES and decide(matches) is Decision.BLOCK


def test_an_ignored_entry_never_matches_but_the_others_still_do(tmp_path: Path) -> None:
    base = np.random.default_rng(2).integers(0, 256, 32, dtype=np.uint8)
    entries = [ListEntry(1, "blocks", "pdq", _near(base, 3), 90),
               ListEntry(2, "blocks", "pdq", _near(base, 9), 90)]  # fmt: skip
    matcher = _matcher(tmp_path, entries, Policy.from_mapping({"allow_entries": ["reg:1"]}))
    (matches,) = matcher.match([Signal("pdq", bytes(base).hex(), 90)])
    assert [m.entry_id for m in matches] == [2]
    assert decide(matches) is Decision.BLOCK
