"""Prometheus metrics of the matcher. Counters and histograms are kept per process; with
several API workers, `PROMETHEUS_MULTIPROC_DIR` (set by `stopframe matcher serve`) lets any one of
them answer for all. List size, lag and sync age are read at scrape time from the index set
and the sync process's status, so they are never stale per worker."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from stopframe.apps.matcher.status import read_status
from stopframe.matching.index_set import IndexSet

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set by `stopframe matcher serve`
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

LOOKUPS = Counter("stopframe_matcher_lookups_total", "Signals looked up.", ["kind"])
MATCHES = Counter(
    "stopframe_matcher_matches_total",
    "Matched entries, by bank and decision.",
    ["bank", "decision"],
)
DECISIONS = Counter("stopframe_matcher_decisions_total", "Requests, by decision.", ["decision"])
REFUSED = Counter("stopframe_matcher_refused_total", "Requests refused, by status.", ["status"])
LATENCY = Histogram(
    "stopframe_matcher_request_seconds", "Time to answer, by route.", ["route"],
    buckets=LATENCY_BUCKETS,
)  # fmt: skip


class ListCollector(Collector):
    """Gauges read at scrape time: rows per signal type, and per source its entries, lag,
    seconds since the last good sync, refused documents; the generation in use."""

    def __init__(self, index_set: IndexSet, data_dir: Path) -> None:
        self.index_set = index_set
        self.data_dir = data_dir

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rows = GaugeMetricFamily(
            "stopframe_matcher_index_rows", "Rows in the index, by signal type.", labels=["kind"]
        )
        manifest = self.index_set.manifest
        for kind in sorted(manifest.kinds) if manifest else []:
            rows.add_metric([kind], self.index_set.size(kind))
        yield rows
        generation = GaugeMetricFamily(
            "stopframe_matcher_generation", "Index generation this worker serves."
        )
        generation.add_metric([], manifest.generation if manifest else 0)
        yield generation
        status = read_status(self.data_dir)
        families = {
            "entries": ("stopframe_matcher_list_entries", "Active entries, by source."),
            "lag": ("stopframe_matcher_list_lag", "Changes published but not applied, by source."),
            "age": ("stopframe_matcher_sync_age_seconds", "Seconds since the last good sync."),
            "tampered": ("stopframe_matcher_refused_documents", "List documents refused."),
            "failures": ("stopframe_matcher_sync_failures", "Failed sync attempts in a row."),
        }
        out = {k: GaugeMetricFamily(n, h, labels=["source"]) for k, (n, h) in families.items()}
        now = time.time()
        for name, source in status.sources.items() if status else []:
            age = source.age(now)
            values: dict[str, float] = {
                "entries": source.entries, "lag": source.lag(), "tampered": source.tampered,
                "failures": source.failures, "age": float("inf") if age is None else age,
            }  # fmt: skip
            for key, value in values.items():
                out[key].add_metric([name], value)
        yield from out.values()


def exposition(extra: Collector) -> bytes:
    """The text exposition of every metric: this process's, or all workers' when the multi-process
    folder is set, plus `extra`."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (LOOKUPS, MATCHES, DECISIONS, REFUSED, LATENCY):
            registry.register(collector)
    registry.register(extra)
    return generate_latest(registry)


def timed(route: str) -> Callable[[], None]:
    """Start timing a request of `route`; call the result when it is answered."""
    started = time.perf_counter()
    return lambda: LATENCY.labels(route).observe(time.perf_counter() - started)
