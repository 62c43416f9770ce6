"""The list documents both sides share: the snapshot and change-page payloads, built by the
registry and checked by consumers.

    snapshot: {type: "snapshot", version, sequence, after_id, more, generated_at, banks: [bank],
               entries: [entry], <stamp>}
    changes:  {type: "changes", version, after, sequence, latest, more, generated_at,
               banks: [bank], changes: [{sequence, op: add|withdraw, entry}], <stamp>}
    stamp:    registry_id, epoch, issued_at, expires_at, audit_head ("<row id>:<row MAC>")
    bank:     {name, kinds, distance_threshold, verified, action}
    entry:    {id, bank, kind, value, quality}

A snapshot is paged by entry id: one page holds the active entries with id > `after_id`, in id
order, read when the feed stood at `sequence`; `more` says whether another page follows (ask for
it with `after_id` = the last id of this one). Pages are read at different times, so a consumer
replays the change feed from the first page's sequence to make them one consistent state.

The stamp names the registry (an id made once, when its database was created) and its epoch
(raised by every restore from backup, so sequence numbers of one epoch are never compared with
another's), and bounds how long the document may be believed: a consumer refuses one that has
expired, comes from another registry or an older epoch, or is older than what it already holds.
It also publishes the head of the registry's authenticated audit log when the document was
issued: anyone holding a signed document can later show that the log still reaches that row
(`stopframe registry audit verify --expect-head`), so deleting the newest rows cannot go unseen.

Each goes out inside a signed envelope (`stopframe.lists.signing`), which adds `key_id`.
Reading checks the signature against pinned keys, the type and version, every entry's value
(by its signal type), that a snapshot page's ids run upwards from its `after_id`, and that a
change page's sequence numbers run on without a gap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from stopframe.errors import SignalValueError, TamperedListError
from stopframe.lists.canonical import iso, utcnow
from stopframe.lists.signing import verify_envelope
from stopframe.signals import parse_signal_value

FORMAT_VERSION = 2  # 2 added the stamp; version 1 documents cannot be checked for replay
AUDIT_HEAD = re.compile(r"[0-9]{1,19}:[0-9a-f]{64}")
SNAPSHOT = "snapshot"
CHANGES = "changes"
ADD = "add"
WITHDRAW = "withdraw"


class StaleListError(TamperedListError):
    """A genuine document that must not be applied: `reason` is one of other-registry,
    older-epoch, expired, older or replay."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class RegistryRestoredError(TamperedListError):
    """The registry was restored from a backup (its epoch went up): drop the lists held for it
    and take a new snapshot."""


@dataclass(frozen=True, slots=True)
class Stamp:
    """Which registry signed a document, in which epoch, when, and until when it holds."""

    registry_id: str
    epoch: int
    issued_at: datetime
    expires_at: datetime
    audit_head: str  # "<id>:<64 hex>", the audit log's newest row when the document was issued


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One active entry as a consumer holds it."""

    id: int
    bank: str
    kind: str
    value: str
    quality: int | None


@dataclass(frozen=True, slots=True)
class Change:
    """One numbered addition or withdrawal of an entry."""

    sequence: int
    op: str
    entry: ListEntry


@dataclass(frozen=True)
class Snapshot:
    """A checked snapshot page: the active entries with id > `after_id` (at most a page of them)
    as of `sequence`, the banks' policies, and whether `more` pages follow."""

    sequence: int
    key_id: str
    banks: dict[str, dict[str, Any]]
    entries: list[ListEntry]
    after_id: int = 0
    more: bool = False
    stamp: Stamp | None = None  # None for a page made locally (a partner file's)

    @property
    def last_id(self) -> int:
        """The id to ask the next page after: this page's last entry id, or its `after_id`."""
        return self.entries[-1].id if self.entries else self.after_id


@dataclass(frozen=True)
class ChangePage:
    """A checked change page: the changes after `after` up to `sequence`, in order."""

    after: int
    sequence: int
    latest: int
    more: bool
    key_id: str
    banks: dict[str, dict[str, Any]]
    changes: list[Change]
    stamp: Stamp | None = None  # None for a page made locally (a partner file's)


def entry_document(
    entry_id: int, bank: str, kind: str, value: str, quality: int | None
) -> dict[str, Any]:
    """An entry as lists carry it."""
    return {"id": entry_id, "bank": bank, "kind": kind, "value": value, "quality": quality}


def bank_document(
    name: str, kinds: list[str], distance_threshold: int, verified: bool, action: str
) -> dict[str, Any]:
    """A bank's policy as lists carry it."""
    return {
        "name": name,
        "kinds": kinds,
        "distance_threshold": distance_threshold,
        "verified": verified,
        "action": action,
    }


def snapshot_document(
    sequence: int,
    banks: list[dict[str, Any]],
    entries: Iterable[dict[str, Any]],
    after_id: int = 0,
    more: bool = False,
) -> dict[str, Any]:
    """A snapshot page: the active entries with id > `after_id` in id order, read at
    `sequence`; `more` when further pages follow."""
    return {
        "type": SNAPSHOT,
        "version": FORMAT_VERSION,
        "sequence": sequence,
        "after_id": after_id,
        "more": more,
        "generated_at": iso(utcnow()),
        "banks": banks,
        "entries": list(entries),
    }


def stamp_document(
    registry_id: str,
    epoch: int,
    max_age_s: int,
    audit_head: tuple[int, str],
    now: datetime | None = None,
) -> dict[str, Any]:
    """The stamp fields a registry adds to every document it signs: who, which epoch, when
    issued, when it expires (`max_age_s` later) and the head of its audit log."""
    issued = now or utcnow()
    return {
        "registry_id": registry_id,
        "epoch": epoch,
        "issued_at": iso(issued),
        "expires_at": iso(issued + timedelta(seconds=max_age_s)),
        "audit_head": f"{audit_head[0]}:{audit_head[1]}",
    }


def read_stamp(payload: dict[str, Any]) -> Stamp:
    """The checked stamp of a verified payload: TamperedListError when missing or malformed."""
    registry_id, epoch = payload.get("registry_id"), payload.get("epoch")
    if not isinstance(registry_id, str) or not registry_id:
        raise TamperedListError("registry_id missing")
    if type(epoch) is not int or epoch < 1:
        raise TamperedListError("epoch missing or not a positive integer")
    issued, expires = _moment(payload, "issued_at"), _moment(payload, "expires_at")
    if expires <= issued:
        raise TamperedListError("expires_at is not after issued_at")
    head = payload.get("audit_head")
    if not isinstance(head, str) or not AUDIT_HEAD.fullmatch(head):
        raise TamperedListError("audit_head missing or not <row id>:<64 hex digits>")
    return Stamp(registry_id, epoch, issued, expires, head)


def _moment(payload: dict[str, Any], field: str) -> datetime:
    value = payload.get(field)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        raise TamperedListError(f"{field} missing or not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise TamperedListError(f"{field} has no time zone")
    return moment


def change_document(sequence: int, op: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One change of a change page."""
    return {"sequence": sequence, "op": op, "entry": entry}


def changes_document(
    after: int, latest: int, banks: list[dict[str, Any]], changes: list[dict[str, Any]]
) -> dict[str, Any]:
    """A change page: `changes` (in order, from after + 1) and whether more follow to `latest`."""
    upto = changes[-1]["sequence"] if changes else after
    return {
        "type": CHANGES,
        "version": FORMAT_VERSION,
        "after": after,
        "sequence": upto,
        "latest": latest,
        "more": upto < latest,
        "generated_at": iso(utcnow()),
        "banks": banks,
        "changes": changes,
    }


def verify_document(
    envelope: Any, pinned: Mapping[str, Ed25519PublicKey], expected_type: str
) -> dict[str, Any]:
    """The payload of a signed envelope, checked against pinned keys, its type and version."""
    if not isinstance(envelope, dict):
        raise TamperedListError("document is not a signed envelope")
    payload = verify_envelope(envelope, pinned)
    if payload.get("version") == 1:
        raise TamperedListError(
            "list format version 1 carries no registry id, epoch or expiry, so replays cannot "
            "be told apart; upgrade the registry"
        )
    if payload.get("type") != expected_type or payload.get("version") != FORMAT_VERSION:
        raise TamperedListError(f"expected a version {FORMAT_VERSION} {expected_type} document")
    return payload


def read_entry(raw: Any) -> ListEntry:
    """A checked entry: integer id, bank name, and a value valid for its signal type."""
    if not isinstance(raw, dict):
        raise TamperedListError("entry is not an object")
    try:
        if type(raw["id"]) is not int or not isinstance(raw["bank"], str):
            raise TypeError("id must be an integer and bank text")
        signal = parse_signal_value(raw["kind"], raw["value"], raw.get("quality"))
    except (KeyError, TypeError, SignalValueError) as exc:
        raise TamperedListError(f"malformed entry: {exc}") from None
    return ListEntry(raw["id"], raw["bank"], signal.kind, signal.value, signal.quality)


def _banks(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    banks = payload.get("banks")
    if not isinstance(banks, list) or not all(
        isinstance(b, dict) and isinstance(b.get("name"), str) for b in banks
    ):
        raise TamperedListError("banks missing or malformed")
    return {b["name"]: b for b in banks}


def _sequence(payload: dict[str, Any], field: str) -> int:
    """A sequence number or id field: a non-negative integer."""
    value = payload.get(field)
    if type(value) is not int or value < 0:
        raise TamperedListError(f"{field} missing or not a non-negative integer")
    return value


def read_snapshot(payload: dict[str, Any], stamp: Stamp | None = None) -> Snapshot:
    """A checked snapshot page from a verified payload (with its `stamp`, see `read_stamp`);
    refuses ids that do not run upwards from its `after_id`."""
    raw_entries = payload.get("entries")
    if not isinstance(raw_entries, list):
        raise TamperedListError("snapshot entries missing")
    after_id = _sequence(payload, "after_id")
    more = payload.get("more")
    if not isinstance(more, bool):
        raise TamperedListError("snapshot more missing or not true/false")
    if more and not raw_entries:
        raise TamperedListError("an empty snapshot page cannot have more after it")
    entries = [read_entry(e) for e in raw_entries]
    previous = after_id
    for entry in entries:
        if entry.id <= previous:
            raise TamperedListError(f"snapshot entry {entry.id} out of order after {previous}")
        previous = entry.id
    return Snapshot(
        _sequence(payload, "sequence"),
        str(payload.get("key_id", "")),
        _banks(payload),
        entries,
        after_id,
        more,
        stamp,
    )


def read_changes(payload: dict[str, Any], stamp: Stamp | None = None) -> ChangePage:
    """A checked change page from a verified payload (with its `stamp`, see `read_stamp`);
    refuses gaps and reordering within it."""
    after = _sequence(payload, "after")
    raw_changes = payload.get("changes")
    if not isinstance(raw_changes, list):
        raise TamperedListError("changes missing")
    changes = []
    expected = after
    for raw in raw_changes:
        expected += 1
        if not isinstance(raw, dict) or raw.get("sequence") != expected:
            raise TamperedListError(f"change sequence gap or reorder at {expected}")
        if raw.get("op") not in (ADD, WITHDRAW):
            raise TamperedListError(f"unknown change op {raw.get('op')!r}")
        changes.append(Change(expected, raw["op"], read_entry(raw.get("entry"))))
    if _sequence(payload, "sequence") != expected:
        raise TamperedListError("page sequence does not match its last change")
    latest = _sequence(payload, "latest")
    if latest < expected or not isinstance(payload.get("more"), bool):
        raise TamperedListError("page latest or more is malformed")
    return ChangePage(
        after,
        expected,
        latest,
        payload["more"],
        str(payload.get("key_id", "")),
        _banks(payload),
        changes,
        stamp,
    )
