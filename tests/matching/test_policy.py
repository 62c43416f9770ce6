"""Bank thresholds across kinds of different scales: a bank stating the default for its kinds
gets each kind at its own default; a threshold its operator chose applies as stated."""

from __future__ import annotations

from stopframe.lists.documents import bank_document
from stopframe.matching.policy import BankRule, Policy
from stopframe.signals import SIGNAL_TYPES

KINDS = ["md5", "pdq", "pdq_robust", "vpdq"]


def _threshold(listed: dict, kind: str, policy: Policy | None = None) -> int:
    return (policy or Policy()).bank(listed["name"], listed, kind).threshold


def test_a_bank_at_its_default_matches_each_kind_at_its_own_default() -> None:
    listed = bank_document("case", KINDS, SIGNAL_TYPES.bank_default_threshold(KINDS), True, "block")
    assert listed["distance_threshold"] == 40  # the largest default: pdq_robust's
    assert _threshold(listed, "pdq") == 31  # not loosened to the robust kind's scale
    assert _threshold(listed, "pdq_robust") == 40
    assert _threshold(listed, "vpdq") == 20


def test_a_chosen_threshold_applies_to_every_kind() -> None:
    listed = bank_document("strict", KINDS, 24, True, "block")
    assert _threshold(listed, "pdq") == _threshold(listed, "pdq_robust") == 24


def test_a_local_override_wins() -> None:
    listed = bank_document("case", KINDS, 40, True, "block")
    policy = Policy(banks={"case": BankRule(threshold=28)})
    assert _threshold(listed, "pdq", policy) == _threshold(listed, "pdq_robust", policy) == 28


def test_a_bank_without_a_stated_threshold_uses_each_default() -> None:
    listed = {"name": "partner", "kinds": ["pdq"]}
    assert _threshold(listed, "pdq") == 31
