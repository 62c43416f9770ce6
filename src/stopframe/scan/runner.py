"""What a runner is told and tells back: the shards to run, and an event per outcome."""

from __future__ import annotations

from typing import Protocol

from stopframe.scan.manifest import Shard
from stopframe.scan.shard import ShardResult


class Events(Protocol):
    """Where a runner reports: the driver checkpoints, counts and draws progress from these."""

    def done(self, result: ShardResult) -> None:
        """A shard finished and its file is in place."""

    def failed(self, shard: Shard, error: str) -> None:
        """An attempt of a shard failed (it is retried while attempts remain)."""
