"""Bank policy: what a match leads to. The list says each bank's threshold, whether it is
verified and its suggested action; a platform's local policy may override any of that per bank,
mark banks as allow-lists (their matches suppress a decision: false-positive fixes) and ignore
single entries (`allow_entries`: those entries never match; the upload's other matches stand).

    {"banks": {"ngo-verified": {"action": "block"}, "known-memes": {"allow": true},
               "partner-x": {"action": "review", "threshold": 20}},
     "allow_entries": ["registry:1234"], "unverified_action": "review"}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from stopframe.errors import ConfigError
from stopframe.signals import SIGNAL_TYPES, SignalType


class Decision(StrEnum):
    """What the platform is told to do with an upload, most severe first."""

    BLOCK = "block"
    REVIEW = "review"
    LOG = "log"
    NONE = "none"


SEVERITY = {Decision.NONE: 0, Decision.LOG: 1, Decision.REVIEW: 2, Decision.BLOCK: 3}
_ACTIONS = {d.value for d in Decision} - {Decision.NONE.value}


@dataclass(frozen=True)
class BankRule:
    """A platform's override for one bank; None keeps what the list says."""

    action: Decision | None = None
    threshold: int | None = None
    enabled: bool = True
    allow: bool = False


@dataclass(frozen=True)
class BankPolicy:
    """What applies to matches of one bank, once list and local policy are combined."""

    action: Decision
    threshold: int
    enabled: bool
    allow: bool


@dataclass(frozen=True)
class Policy:
    """The local policy: bank overrides, allow-list banks, ignored entries."""

    banks: dict[str, BankRule] = field(default_factory=dict)
    allow_entries: frozenset[str] = frozenset()
    unverified_action: Decision = Decision.REVIEW
    default_action: Decision = Decision.REVIEW

    @classmethod
    def from_file(cls, path: Path) -> Policy:
        """Read a policy JSON file; ConfigError names the file and the field at fault."""
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read the policy: {exc}") from None
        try:
            return cls.from_mapping(raw)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    @classmethod
    def from_mapping(cls, raw: Any) -> Policy:
        """A policy from parsed JSON, every field checked."""
        if not isinstance(raw, dict):
            raise ConfigError("the policy must be a JSON object")
        unknown = set(raw) - {"banks", "allow_entries", "unverified_action", "default_action"}
        if unknown:
            raise ConfigError(f"unknown policy fields: {', '.join(sorted(unknown))}")
        banks = raw.get("banks", {})
        if not isinstance(banks, dict):
            raise ConfigError("banks must be an object of bank name -> rule")
        entries = raw.get("allow_entries", [])
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise ConfigError('allow_entries must be a list of "source:entry_id" texts')
        return cls(
            banks={str(name): _rule(str(name), rule) for name, rule in banks.items()},
            allow_entries=frozenset(entries),
            unverified_action=_action("unverified_action", raw.get("unverified_action", "review")),
            default_action=_action("default_action", raw.get("default_action", "review")),
        )

    def bank(self, name: str, listed: dict[str, Any] | None, kind: str) -> BankPolicy:
        """The policy for matches of `kind` in bank `name`, whose list document is `listed`."""
        rule = self.banks.get(name, BankRule())
        signal_type = SIGNAL_TYPES[kind]
        listed = listed or {}
        action = _listed_action(listed, self.default_action)
        if (
            listed
            and not listed.get("verified", False)
            and SEVERITY[action] > SEVERITY[self.unverified_action]
        ):
            action = self.unverified_action
        threshold = rule.threshold
        if threshold is None:
            threshold = _listed_threshold(listed, signal_type)
        return BankPolicy(
            action=rule.action or action,
            threshold=min(max(threshold, 0), signal_type.max_threshold),
            enabled=rule.enabled,
            allow=rule.allow,
        )


def _listed_action(listed: dict[str, Any], default: Decision) -> Decision:
    try:
        return Decision(listed.get("action", default))
    except ValueError:
        return default


def _action(name: str, value: Any) -> Decision:
    if value not in _ACTIONS:
        raise ConfigError(f"{name} must be one of {', '.join(sorted(_ACTIONS))}, got {value!r}")
    return Decision(value)


def _rule(bank: str, raw: Any) -> BankRule:
    if not isinstance(raw, dict):
        raise ConfigError(f"banks.{bank} must be an object")
    unknown = set(raw) - {"action", "threshold", "enabled", "allow"}
    if unknown:
        raise ConfigError(f"banks.{bank}: unknown fields {', '.join(sorted(unknown))}")
    threshold = raw.get("threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int)):
        raise ConfigError(f"banks.{bank}.threshold must be an integer")
    for flag in ("enabled", "allow"):
        if not isinstance(raw.get(flag, False), bool):
            raise ConfigError(f"banks.{bank}.{flag} must be true or false")
    action = raw.get("action")
    return BankRule(
        action=None if action is None else _action(f"banks.{bank}.action", action),
        threshold=threshold,
        enabled=raw.get("enabled", True),
        allow=raw.get("allow", False),
    )


def _listed_threshold(listed: dict[str, Any], signal_type: SignalType) -> int:
    """A bank's threshold for one kind. Kinds differ in scale (pdq 31, pdq_robust 40, vPDQ 20 %
    of frames), so a bank stating the default for its kinds (no operator choice) gets each kind at
    its own default; a threshold the operator chose applies to every kind as stated."""
    stated = listed.get("distance_threshold")
    if stated is None:
        return signal_type.default_threshold
    kinds = [k for k in listed.get("kinds", []) if k in SIGNAL_TYPES]
    if kinds and int(stated) == SIGNAL_TYPES.bank_default_threshold(kinds):
        return signal_type.default_threshold
    return int(stated)
