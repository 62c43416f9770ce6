"""The sync process's report on each list source, written to `<data>/sync-status.json` after
every attempt and read by the API workers for /readyz and /metrics.

Per source: when the last good sync ended, the sequence reached and the latest known, the last
error, how many attempts failed in a row, and the last refused (tampered) document.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATUS_FILE = "sync-status.json"


@dataclass
class SourceStatus:
    """How one source's syncing goes."""

    origin: str
    sequence: int = -1
    latest: int = -1
    last_success: float | None = None  # unix time
    last_attempt: float | None = None
    last_error: str | None = None
    failures: int = 0
    tampered: int = 0  # documents refused since the process started
    last_tampered: str | None = None
    entries: int = 0

    def lag(self) -> int:
        """Changes known to exist but not yet applied."""
        return max(self.latest - self.sequence, 0)

    def age(self, now: float | None = None) -> float | None:
        """Seconds since the last good sync (None: never)."""
        if self.last_success is None:
            return None
        return (now or time.time()) - self.last_success


@dataclass
class SyncStatus:
    """Every source's status, and the generation the sync process last published."""

    sources: dict[str, SourceStatus] = field(default_factory=dict)
    generation: int = 0
    published_at: float | None = None
    publish_error: str | None = None
    pid: int = 0

    def write(self, data_dir: Path) -> None:
        """Replace the status file atomically."""
        path = data_dir / STATUS_FILE
        tmp = path.with_name(f"{STATUS_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self), sort_keys=True, indent=1))
        os.replace(tmp, path)


def read_status(data_dir: Path) -> SyncStatus | None:
    """The last status the sync process wrote, or None (none yet, or unreadable)."""
    try:
        raw: dict[str, Any] = json.loads((data_dir / STATUS_FILE).read_text())
        sources = {k: SourceStatus(**v) for k, v in raw.pop("sources").items()}
        return SyncStatus(sources=sources, **raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None
