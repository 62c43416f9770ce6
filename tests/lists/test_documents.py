"""Snapshot pages as documents: the page fields survive a round trip, and a page whose ids do
not run upwards from its `after_id`, or whose page fields are missing or malformed, is refused."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from stopframe.errors import TamperedListError
from stopframe.lists.documents import (
    bank_document,
    entry_document,
    read_snapshot,
    snapshot_document,
)

BANKS = [bank_document("self-reported", ["md5"], 0, False, "review")]


def md5(n: int) -> str:
    return hashlib.md5(f"benign-{n}".encode()).hexdigest()


def page(ids: list[int], after_id: int = 0, more: bool = False, **changes: Any) -> dict[str, Any]:
    entries = [entry_document(i, "self-reported", "md5", md5(i), None) for i in ids]
    return {**snapshot_document(9, BANKS, entries, after_id, more), **changes}


def test_a_page_round_trips_with_its_place() -> None:
    snapshot = read_snapshot(page([5, 7, 12], after_id=4, more=True))
    assert (snapshot.sequence, snapshot.after_id, snapshot.more) == (9, 4, True)
    assert [e.id for e in snapshot.entries] == [5, 7, 12] and snapshot.last_id == 12
    last = read_snapshot(page([], after_id=12))
    assert (last.entries, last.more, last.last_id) == ([], False, 12)


@pytest.mark.parametrize(
    ("payload", "refusal"),
    [
        (page([5, 3], after_id=2), "entry 3 out of order after 5"),
        (page([5, 5], after_id=2), "entry 5 out of order"),
        (page([2, 6], after_id=2), "entry 2 out of order after 2"),
        (page([], after_id=2, more=True), "empty snapshot page cannot have more"),
        (page([3], after_id=None), "after_id missing"),
        (page([3], after_id=-1), "after_id missing or not a non-negative integer"),
        (page([3], more="yes"), "more missing or not true/false"),
        ({k: v for k, v in page([3]).items() if k != "more"}, "more missing"),
    ],
)
def test_a_page_out_of_order_or_without_its_place_is_refused(
    payload: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(TamperedListError, match=refusal):
        read_snapshot(payload)
