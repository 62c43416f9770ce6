"""Canonical JSON: the one byte encoding that signatures and audit hashes are computed over.

Keys sorted, no insignificant whitespace, UTF-8, no floats (timestamps are ISO-8601 strings).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Encode `value` canonically; refuses floats so the encoding is the same in every language."""
    _reject_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _reject_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("canonical JSON carries no floats; encode the number as text")
    if isinstance(value, dict):
        for item in value.values():
            _reject_floats(item)
    elif isinstance(value, list):
        for item in value:
            _reject_floats(item)


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 text of a moment, treating naive values (as SQLite returns them) as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
