"""Match signals against the index set: hits become matches with their bank's policy applied,
and the matches of one upload become one decision.

The index finds candidate rows at the widest threshold any bank of a type uses; each hit is then
checked against its own bank's threshold, against the list store (a withdrawn entry never
matches, even before the next generation), and for videos against the whole entry by vPDQ's
rule. TMK videos are found by level 1 over every entry and scored at level 2 against the
entry's full features from the list store. Allow-list matches suppress the decision.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from stopframe.errors import SignalValueError
from stopframe.index.codes import CODE_BYTES
from stopframe.lists.documents import ListEntry
from stopframe.matching.index_set import IndexSet
from stopframe.matching.policy import SEVERITY, BankPolicy, Decision, Policy
from stopframe.matching.rows import entry_codes, search_radius, split_rows
from stopframe.matching.video import match_vpdq
from stopframe.signals import SIGNAL_TYPES, IndexKind, Signal
from stopframe.signals.tmk import TMK, TmkFeatures, TmkScores, level2_score
from stopframe.signals.vpdq import parse_vpdq_lines

MAX_MATCHES = 100  # per signal, in an answer, the decision log and reports


class Entries(Protocol):
    """Where the matcher reads the active entries of each list source."""

    def entries_by_id(self, source: str, ids: Sequence[int]) -> dict[int, ListEntry]:
        """The active entries among `ids` (unknown or withdrawn ones are left out)."""


@dataclass(frozen=True)
class Match:
    """One list entry an upload's signal matched, and what its bank's policy makes of it."""

    source: str
    entry_id: int
    bank: str
    kind: str
    distance: int
    action: Decision
    allowed: bool = False  # an allow-list bank's entry: suppresses the decision
    quarantined: bool = False  # flood quarantine demoted a block to review

    @property
    def key(self) -> str:
        """The entry's key across sources (`source:entry_id`), as operators and reports see it."""
        return f"{self.source}:{self.entry_id}"

    def to_dict(self) -> dict[str, object]:
        """The match as the API answers it."""
        return {
            "entry_id": self.entry_id, "source": self.source, "bank": self.bank,
            "kind": self.kind, "distance": self.distance, "action": self.action.value,
            "allowed": self.allowed, "quarantined": self.quarantined,
        }  # fmt: skip


def decide(matches: Sequence[Match]) -> Decision:
    """The decision of an upload: none when an allow-list entry matched, else the most severe
    action among its matches (a quarantined entry's block counts as review)."""
    if any(m.allowed for m in matches):
        return Decision.NONE
    actions = [Decision.REVIEW if m.quarantined and m.action is Decision.BLOCK else m.action
               for m in matches]  # fmt: skip
    return max(actions, key=SEVERITY.__getitem__, default=Decision.NONE)


def query_codes(signal: Signal) -> np.ndarray:
    """The codes a query signal is searched by (none when it is below the quality floor)."""
    signal_type = SIGNAL_TYPES[signal.kind]
    if not signal_type.usable(signal):
        return np.zeros((0, CODE_BYTES), np.uint8)
    return entry_codes(signal.kind, signal.value, signal.quality)


class Matcher:
    """Signals in, matches out, against one `IndexSet` and the list stores behind it."""

    def __init__(self, index_set: IndexSet, entries: Entries, policy: Policy) -> None:
        self.index_set = index_set
        self.entries = entries
        self.policy = policy

    def radius(self, kind: str) -> int:
        """The widest threshold any bank (with local overrides) uses for `kind`."""
        signal_type = SIGNAL_TYPES[kind]
        if signal_type.index_kind is IndexKind.EXACT:
            return 0
        if signal_type.index_kind is IndexKind.FRAMES:
            return search_radius(SIGNAL_TYPES["pdq"])
        widest = signal_type.default_threshold
        for state in self.index_set.sources().values():
            for name, listed in state.banks.items():
                if kind in listed.get("kinds", [kind]):
                    widest = max(widest, self.policy.bank(name, listed, kind).threshold)
        return min(widest, search_radius(signal_type))

    def match(self, signals: Sequence[Signal]) -> list[list[Match]]:
        """The matches of each signal, at most `MAX_MATCHES` (allow-list matches first, then the
        most severe, then the nearest: the decision is the same as over all of them); signals of
        types no index serves, or below their quality floor, have none."""
        out: list[list[Match]] = [[] for _ in signals]
        by_kind: dict[str, list[int]] = defaultdict(list)
        for i, signal in enumerate(signals):
            by_kind[signal.kind].append(i)
        for kind, positions in by_kind.items():
            self._match_kind(kind, [signals[i] for i in positions], positions, out)
        return [_most_telling(matches) for matches in out]

    def _match_kind(
        self, kind: str, signals: list[Signal], positions: list[int], out: list[list[Match]]
    ) -> None:
        if self.index_set.size(kind) == 0:
            return
        if SIGNAL_TYPES[kind].index_kind is IndexKind.TMK:
            self._match_tmk(kind, signals, positions, out)
            return
        codes, owners = [], []
        for n, signal in enumerate(signals):
            c = query_codes(signal)
            codes.append(c)
            owners.append(np.full(c.shape[0], n, np.int64))
        all_codes = np.concatenate(codes) if codes else np.zeros((0, CODE_BYTES), np.uint8)
        if not all_codes.shape[0]:
            return
        hits = self.index_set.search(kind, all_codes, self.radius(kind))
        owner = np.concatenate(owners)[hits.query_index()]
        source_no, entry_id, _row = split_rows(hits.ids)
        best: dict[tuple[int, int, int], int] = {}
        for n, s, e, d in zip(owner.tolist(), source_no.tolist(), entry_id.tolist(),
                              hits.distances.tolist(), strict=True):  # fmt: skip
            key = (n, s, e)
            if key not in best or d < best[key]:
                best[key] = d
        wanted: dict[int, set[int]] = defaultdict(set)
        for _n, s, e in best:
            wanted[s].add(e)
        found = {s: self._active(s, sorted(ids)) for s, ids in wanted.items()}
        rules: dict[tuple[str, str, str], BankPolicy] = {}
        for (n, s, e), distance in sorted(best.items(), key=lambda item: (item[0][0], item[1])):
            source, entry = found[s]
            if source is None or e not in entry:
                continue
            match = self._confirm(signals[n], source, entry[e], distance, rules)
            if match is not None:
                out[positions[n]].append(match)

    def _match_tmk(
        self, kind: str, signals: list[Signal], positions: list[int], out: list[list[Match]]
    ) -> None:
        """TMK signals: level-1 candidates from the index, then level 2 against each active
        entry's features; the distance is the type's, so each bank's threshold applies."""
        rules: dict[tuple[str, str, str], BankPolicy] = {}
        for n, signal in enumerate(signals):
            try:
                query = TMK.features(signal.value)
            except SignalValueError:
                continue
            level1 = dict(self.index_set.tmk_candidates(kind, query))
            scored = self._level2(query, level1) if level1 else []
            for distance, source, entry in sorted(scored, key=lambda item: item[0]):
                match = self._confirm(signal, source, entry, distance, rules)
                if match is not None:
                    out[positions[n]].append(match)

    def _level2(
        self, query: TmkFeatures, level1: dict[int, float]
    ) -> list[tuple[int, str, ListEntry]]:
        """(distance, source, entry) of each active candidate entry (by first row id, with its
        level-1 score), scored at level 2 against the entry's features from the list store."""
        firsts = np.fromiter(level1, np.uint64, len(level1))
        source_no, entry_id, _row = split_rows(firsts)
        wanted: dict[int, list[int]] = defaultdict(list)
        for s, e in zip(source_no.tolist(), entry_id.tolist(), strict=True):
            wanted[s].append(e)
        found = {s: self._active(s, sorted(ids)) for s, ids in wanted.items()}
        scored = []
        for first, s, e in zip(firsts.tolist(), source_no.tolist(), entry_id.tolist(),
                               strict=True):  # fmt: skip
            source, entries = found[s]
            if source is None or e not in entries:
                continue
            try:
                second = level2_score(query, TMK.features(entries[e].value))
            except SignalValueError:
                continue
            distance = TMK.scored_distance(TmkScores(level1[first], second))
            scored.append((distance, source, entries[e]))
        return scored

    def _active(self, source_no: int, ids: list[int]) -> tuple[str | None, dict[int, ListEntry]]:
        """A source's name and its active entries among `ids`, read in one query."""
        source = self.index_set.source_name(source_no)
        if source is None:
            return None, {}
        return source, self.entries.entries_by_id(source, ids)

    def _confirm(
        self,
        signal: Signal,
        source: str,
        entry: ListEntry,
        distance: int,
        rules: dict[tuple[str, str, str], BankPolicy],
    ) -> Match | None:
        """The match of a candidate's active entry, if it is within its bank's rule."""
        if entry.kind != signal.kind:
            return None
        rule = rules.get((source, entry.bank, entry.kind))
        if rule is None:
            listed = self.index_set.sources()[source].banks.get(entry.bank)
            rule = rules[(source, entry.bank, entry.kind)] = self.policy.bank(
                entry.bank, listed, entry.kind
            )
        if not rule.enabled:
            return None
        if SIGNAL_TYPES[entry.kind].index_kind is IndexKind.FRAMES:
            distance = _video_distance(signal.value, entry.value)
        if distance > rule.threshold:
            return None
        if f"{source}:{entry.id}" in self.policy.allow_entries:
            return None  # an entry the platform reviewed and ignores: no match at all
        return Match(source, entry.id, entry.bank, entry.kind, distance, rule.action, rule.allow)


def _most_telling(matches: list[Match]) -> list[Match]:
    """A degenerate upload (a blank frame) can match hundreds of entries; keep those that decide."""
    if len(matches) <= MAX_MATCHES:
        return matches
    ranked = sorted(matches, key=lambda m: (not m.allowed, -SEVERITY[m.action], m.distance))
    return sorted(ranked[:MAX_MATCHES], key=lambda m: (m.distance, m.key))


def _video_distance(query: str, listed: str) -> int:
    """vPDQ distance (per cent of the query's good frames without a match in the entry), by
    upstream's two-sided rule: 100 when the entry's own share of matched frames falls short."""
    try:
        result = match_vpdq(parse_vpdq_lines(query), parse_vpdq_lines(listed))
    except SignalValueError:
        return 100
    if not result.is_match:
        return 100
    return int(round(100 - result.query_match_pct))


def quarantine(match: Match) -> Match:
    """The match with its entry flagged by flood quarantine."""
    return replace(match, quarantined=True)
