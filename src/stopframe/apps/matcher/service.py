"""The matcher's services: hashes or an upload in, matches and one decision out, with flood
quarantine, the decision log, match reports and webhooks on the way. Nothing here knows HTTP.

Uploads are hashed by `hash_file`, the code and limits of `stopframe hash`, from a file the
caller keeps in memory (see `upload.py`); nothing about the media is kept beyond its signals.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stopframe.apps.matcher import reports, webhooks
from stopframe.apps.matcher.flood import FloodGuard
from stopframe.apps.matcher.sources import SourceStores
from stopframe.apps.matcher.state import MatcherState, state_path
from stopframe.apps.matcher.sync import INDEX_DIR
from stopframe.apps.matcher.webhooks import WebhookConfig
from stopframe.config import MatcherSettings
from stopframe.errors import (
    ConfigError,
    Invalid,
    LimitExceeded,
    MediaError,
    SignalValueError,
    TooLarge,
    Unavailable,
    UnknownSignalType,
    UnsupportedFormat,
    UnsupportedMedia,
)
from stopframe.hashing.files import (
    STATUS_ERROR,
    HashOptions,
    HashRecord,
    hash_file,
    robust_query_of_file,
    with_limits,
)
from stopframe.lists.canonical import iso, utcnow
from stopframe.matching.index_set import IndexSet
from stopframe.matching.match import Match, Matcher, decide, quarantine
from stopframe.matching.policy import Decision, Policy
from stopframe.matching.video_geometry import query_video
from stopframe.matching.video_segments import (
    LISTED_KINDS,
    ListedSegments,
    SegmentMatch,
    match_listed,
)
from stopframe.signals import PDQ_ROBUST, SIGNAL_TYPES, TMK, VPDQ, Signal, parse_signal_value
from stopframe.signals.pdq_robust import robust_signal

log = logging.getLogger("stopframe.apps.matcher")


@dataclass(frozen=True)
class SignalResult:
    """One signal's matches and the decision they alone lead to."""

    signal: Signal
    matches: list[Match]
    decision: Decision


@dataclass(frozen=True)
class Outcome:
    """What one request was matched to and decided; `segments` holds, by match key, where a
    listed recording was found inside a video upload."""

    request_id: str
    decision: Decision
    results: list[SignalResult]
    segments: dict[str, list[SegmentMatch]] = field(default_factory=dict)

    @property
    def matches(self) -> list[Match]:
        """Every match of every signal (an entry once, at its nearest)."""
        return _nearest([m for result in self.results for m in result.matches])


class MatchService:
    """Everything an API worker needs to answer match requests; one per process."""

    def __init__(
        self,
        settings: MatcherSettings,
        policy: Policy | None = None,
        hooks: list[WebhookConfig] | None = None,
        options: HashOptions | None = None,
        record: bool = True,
    ) -> None:
        """`record=False` (offline batch matching) keeps no decision log, reports, webhooks
        or flood counts."""
        data_dir = settings.matcher_data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.index_set = IndexSet(data_dir / INDEX_DIR)
        self.stores = SourceStores(data_dir)
        self.policy = policy or (
            Policy.from_file(settings.policy_file) if settings.policy_file else Policy()
        )
        self.matcher = Matcher(self.index_set, self.stores, self.policy)
        self.state = MatcherState.open(state_path(data_dir))
        self.flood = FloodGuard(self.state, settings.flood_limit, settings.flood_window_s)
        self.hooks = hooks if hooks is not None else load_hooks(settings.webhooks_file)
        self.options = with_limits(options or HashOptions())
        self.record = record
        self.index_set.refresh()

    def close(self) -> None:
        """Close the stores and the state file."""
        self.stores.close()
        self.state.close()

    # -- hashes --------------------------------------------------------------------------
    def match_hashes(
        self, items: Sequence[dict[str, Any]], content_id: str | None = None
    ) -> Outcome:
        """Match a batch of `{kind, value, quality?}` signals; Invalid names the bad item."""
        if not items:
            raise Invalid("give at least one signal")
        if len(items) > self.settings.max_batch_hashes:
            raise TooLarge(
                f"{len(items)} signals in one request; at most {self.settings.max_batch_hashes}"
            )
        signals = []
        for n, item in enumerate(items):
            try:
                signals.append(_parse(item))
            except (UnknownSignalType, SignalValueError, KeyError, TypeError) as exc:
                raise Invalid(f"signals[{n}]: {exc}") from None
        # the platform's id of the upload, when given, is what flood quarantine and reports
        # count as one upload (several hashes of one picture are still one upload)
        upload = None if content_id is None else _fingerprint("content_id", content_id)
        return self._decide(signals, upload, content_id)

    # -- media ---------------------------------------------------------------------------
    def match_file(
        self, path: Path, name: str, content_id: str | None = None
    ) -> tuple[HashRecord, Outcome]:
        """Hash the upload at `path` (kept in memory by the caller) and match its signals; a
        video's TMK (a slow second decode) only while a TMK list is loaded."""
        options = replace(self.options, tmk=self.index_set.size(TMK.name) > 0)
        record = hash_file(path, options)
        record.path = name
        return record, self.match_record(record, path, content_id)

    def match_record(
        self, record: HashRecord, path: Path, content_id: str | None = None
    ) -> Outcome:
        """Match a hashed file's signals (and, when robust sets are listed, a picture's robust
        query set; when vPDQ is listed, a video's segments: both read again from `path`); a
        record that failed raises its 4xx refusal."""
        if record.status == STATUS_ERROR:
            raise _refusal(record)
        signals = list(record.signals)
        if record.media_type == "image" and self.index_set.size(PDQ_ROBUST.name):
            query = robust_query_of_file(path, self.options.limits)
            if query:  # a featureless picture has no usable hash: nothing to search by
                signals.append(robust_signal(query))
        found = self._video_segments(record, path)
        return self._decide(signals, record.value("sha256"), content_id, found)

    def _video_segments(self, record: HashRecord, path: Path) -> list[ListedSegments]:
        """Listed (robust) vPDQ recordings found in stretches of a video upload, as is or
        mirrored: excerpts inside a compilation, mirrored copies and, against robust vPDQ, cropped
        and turned copies, which whole-video vPDQ misses."""
        if record.media_type != "video" or not any(map(self.index_set.size, LISTED_KINDS)):
            return []
        try:
            query = query_video(path, limits=self.options.video_limits)
        except MediaError as exc:  # hashed once already: only its segments go unsearched
            log.warning("video segments not searched: %s", exc.reason)
            return []
        return match_listed(query, self.index_set, self.stores, self.policy)

    # -- the decision --------------------------------------------------------------------
    def require_lists(self) -> None:
        """Unavailable (503) until the first index generation is loaded."""
        if not self.index_set.ready:
            raise Unavailable("no lists loaded yet; the first sync has not finished")

    def _decide(
        self,
        signals: list[Signal],
        upload: str | None,
        content_id: str | None,
        found: Sequence[ListedSegments] = (),
    ) -> Outcome:
        self.require_lists()
        request_id = uuid.uuid4().hex
        per_signal = self.matcher.match(signals)
        video = next((i for i, s in enumerate(signals) if s.kind == VPDQ.name), None)
        if found and video is not None:  # segment matches join the video's vPDQ matches
            per_signal[video] = _nearest([*per_signal[video], *(f.match for f in found)])
        held = self._flood_held(signals, per_signal, upload)
        results = []
        for signal, matches in zip(signals, per_signal, strict=True):
            matches = [quarantine(m) if m.key in held else m for m in matches]
            results.append(SignalResult(signal, matches, decide(matches)))
        segments = {f.match.key: f.segments for f in found}
        outcome = Outcome(
            request_id, decide([m for r in results for m in r.matches]), results, segments
        )
        if outcome.matches and self.record:
            self._record(outcome, upload, content_id)
        return outcome

    def _flood_held(
        self, signals: list[Signal], per_signal: list[list[Match]], upload: str | None
    ) -> set[str]:
        """The entries flood quarantine holds back, after counting this upload against each
        entry that would block it (one transaction)."""
        if not self.record:
            return set()
        pairs = [
            (m.key, _upload(upload, signal))
            for signal, matches in zip(signals, per_signal, strict=True)
            for m in matches
            if not m.allowed and m.action is Decision.BLOCK
        ]
        return self.flood.observe_many(pairs) if pairs else set()

    def _record(self, outcome: Outcome, upload: str | None, content_id: str | None) -> None:
        """Log the decision, queue a report per matched entry and the webhooks. A failure here
        is logged, never turned into a failed match."""
        matches = [m.to_dict() for m in outcome.matches]
        at = utcnow()
        try:
            self.state.log_decision(outcome.request_id, outcome.decision.value, matches, content_id)
            if outcome.decision is not Decision.NONE:
                action = outcome.decision.value
                items = [
                    (m.source, m.entry_id, action, _upload(upload, r.signal))
                    for r in outcome.results
                    for m in r.matches
                ]
                reports.enqueue_reports(self.state, items, at)
                event = {
                    "decision": outcome.decision.value,
                    "request_id": outcome.request_id,
                    "content_id": content_id,
                    "at": iso(at),
                    "matches": matches,
                }
                webhooks.enqueue_event(self.state, self.hooks, event)
        except Exception:
            log.exception("decision %s not recorded", outcome.request_id)


def _nearest(matches: list[Match]) -> list[Match]:
    """Each entry once, at its nearest match, nearest first."""
    best: dict[str, Match] = {}
    for match in matches:
        if match.key not in best or match.distance < best[match.key].distance:
            best[match.key] = match
    return sorted(best.values(), key=lambda m: (m.distance, m.key))


def _parse(item: dict[str, Any]) -> Signal:
    """A signal from an API item; the kind may be any name or alias of a registered type
    (`photo_md5`, `hash_pdq`), as partner formats write them."""
    kind = item["kind"]
    found = SIGNAL_TYPES.resolve(kind) if isinstance(kind, str) else None
    return parse_signal_value(found.name if found else kind, item["value"], item.get("quality"))


def _fingerprint(kind: str, value: str) -> str:
    """A digest naming one upload: of its content id, or of one of its hashes."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _upload(upload: str | None, signal: Signal) -> str:
    """What flood quarantine and reports count as one upload: the media's (or content id's)
    fingerprint when there is one, else the signal itself."""
    return upload or _fingerprint(signal.kind, signal.value)


def _refusal(record: HashRecord) -> Exception:
    """The 4xx answer to an upload that could not be hashed, by what went wrong."""
    reason = f"upload: {record.error or 'cannot be hashed'}"
    if record.failure == LimitExceeded.__name__:
        return TooLarge(reason)
    if record.failure == UnsupportedFormat.__name__:
        return UnsupportedMedia(reason)
    return Invalid(reason)


def load_hooks(path: Path | None) -> list[WebhookConfig]:
    """Webhooks from a JSON list of `{url, secret, decisions?}`; none without a file."""
    if path is None:
        return []
    try:
        raw = json.loads(path.read_text())
        return [
            WebhookConfig(
                url=str(item["url"]),
                secret=str(item["secret"]),
                decisions=frozenset(item.get("decisions", ["block", "review"])),
            )
            for item in raw
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: cannot read webhooks: {exc}") from None
