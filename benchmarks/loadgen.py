"""A small HTTP/1.1 load generator for the service benchmarks: open-loop (requests start on a
fixed schedule whatever the server does, so queueing shows up in the latency, as real traffic
would see it) or closed-loop (N connections back to back), over keep-alive connections.

Latency is measured from each request's scheduled start, so a stalled server cannot hide its
stalls by slowing the generator down (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """What a run achieved: completed requests, errors and latencies in seconds."""

    offered: float | None
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def achieved(self) -> float:
        """Requests answered per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def median_ms(self) -> float:
        return 1000 * statistics.median(self.latencies) if self.latencies else float("nan")


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body


def http_request(path: str, body: bytes, content_type: str, token: str) -> bytes:
    """A keep-alive POST as raw bytes."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connect(host: str, port: int, count: int) -> list[_Connection]:
    out = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 24)
        out.append(_Connection(reader, writer))
    return out


async def _open_loop(
    host: str, port: int, rate: float, seconds: float, make: Callable[[int], bytes], conns: int
) -> LoadResult:
    idle: asyncio.Queue[_Connection] = asyncio.Queue()
    for conn in await _connect(host, port, conns):
        idle.put_nowait(conn)
    result = LoadResult(rate, seconds)
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05

    async def one(i: int, due: float) -> None:
        conn = await idle.get()
        try:
            status, _ = await conn.request(make(i))
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == 200:
                result.latencies.append(time.perf_counter() - due)
            else:
                result.errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            conn = _Connection(*await asyncio.open_connection(host, port, limit=1 << 24))
        idle.put_nowait(conn)

    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    result.seconds = max(time.perf_counter() - start, seconds)
    return result


async def _closed_loop(
    host: str, port: int, conns: int, seconds: float, make: Callable[[int], bytes]
) -> LoadResult:
    connections = await _connect(host, port, conns)
    result = LoadResult(None, seconds)
    counter = iter(range(1 << 62))
    end = time.perf_counter() + seconds

    async def worker(conn: _Connection) -> None:
        while time.perf_counter() < end:
            started = time.perf_counter()
            status, _ = await conn.request(make(next(counter)))
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == 200:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    result.seconds = time.perf_counter() - started
    return result


def _run(coro: object) -> LoadResult:
    try:
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type,no-any-return]
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type,no-any-return]


def open_loop(
    host: str, port: int, rate: float, seconds: float, make: Callable[[int], bytes], conns: int = 64
) -> LoadResult:
    """Offer `rate` requests a second for `seconds` over up to `conns` connections."""
    return _run(_open_loop(host, port, rate, seconds, make, conns))


def closed_loop(
    host: str, port: int, conns: int, seconds: float, make: Callable[[int], bytes]
) -> LoadResult:
    """`conns` connections sending back to back for `seconds`."""
    return _run(_closed_loop(host, port, conns, seconds, make))
