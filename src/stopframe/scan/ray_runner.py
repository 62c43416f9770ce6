"""The Ray runner (extra `ray`): shards as Ray tasks, on a local or existing cluster.

The index is not shipped with the tasks: each task gets the index folder's path and maps its
files once per worker process (the output folder must be on storage every node sees). Ray
retries a task whose worker died or that raised, up to the attempts given; a shard's poison
file is found through its marker as with the local pool.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from stopframe.errors import ConfigError
from stopframe.scan.manifest import Shard
from stopframe.scan.runner import Events
from stopframe.scan.shard import ShardJob, run_shard


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'stopframe[ray]'") from None
    return ray


def run_ray(
    job: ShardJob,
    shards: Sequence[Shard],
    jobs: int,
    attempts: int,
    events: Events,
    address: str = "auto",
) -> None:
    """Run `shards` as Ray tasks, at most `jobs` at a time; `address` "auto" joins the cluster
    named by RAY_ADDRESS or starts one on this machine, anything else is a cluster address.
    A Ray already initialised in this process is used as it is."""
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=None if address == "auto" else address, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1, max_retries=attempts - 1, retry_exceptions=True)(run_shard)
        job_ref = ray.put(job)
        queue = deque(shards)
        pending: dict[Any, Shard] = {}
        while queue or pending:
            while queue and len(pending) < jobs:
                shard = queue.popleft()
                pending[task.remote(job_ref, shard)] = shard
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                shard = pending.pop(ref)
                try:
                    events.done(ray.get(ref))
                except ray.exceptions.RayError as exc:
                    events.failed(shard, f"{type(exc).__name__}: {exc}"[:2000])
    finally:
        if started:
            ray.shutdown()
