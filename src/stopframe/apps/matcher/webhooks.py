"""Signed webhooks: each decision a platform subscribes to is POSTed to its URL, retried with
backoff, and set aside as a dead letter when it keeps failing.

The body is the event as sorted, compact JSON, fixed when it is queued so every try sends the
same bytes. `X-Stopframe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t." + body)>`
lets the receiver check origin and freshness (`verify_signature`); `X-Stopframe-Event-Id` is the
same on every try, so a receiver can drop a delivery it already has. Secrets stay in the
configuration: they are neither stored nor logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from stopframe.apps.matcher.state import MatcherState, backoff_delay

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 900.0
DUE_BATCH = 100
EVENT_FIELDS = ("decision", "request_id", "at", "matches")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookConfig:
    """One subscriber: where to POST, the shared signing secret, and which decisions it wants.
    The URL names the hook, so each hook has its own."""

    url: str
    secret: str = field(repr=False)
    decisions: frozenset[str] = frozenset({"block", "review"})
    timeout_s: float = 5
    max_attempts: int = 8


@dataclass(frozen=True)
class DeliveryResult:
    """What one `deliver_due` call did."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0


@dataclass(frozen=True)
class DeadLetter:
    """A delivery that failed `max_attempts` times, with the last error."""

    id: str
    url: str
    event: dict[str, Any]
    attempts: int
    failed_at: float
    last_error: str


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, tolerance_s: float = 300, now: float | None = None
) -> bool:
    """True when `header` signs `body` with `secret` and its time is within `tolerance_s` of
    now; for receivers. Compares in constant time; any v1 value may match (secret rotation)."""
    now = time.time() if now is None else now
    parts = [part.partition("=") for part in header.split(",")]
    stamps = [value for name, _, value in parts if name.strip() == "t"]
    signatures = [value.strip() for name, _, value in parts if name.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or not signatures:
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


def enqueue_event(
    state: MatcherState, hooks: list[WebhookConfig], event: dict[str, Any], now: float | None = None
) -> list[str]:
    """Queue one delivery of `event` per hook that wants its decision; return their ids. The
    event says what was decided (decision, request_id, at, matches), never the media."""
    missing = [name for name in EVENT_FIELDS if name not in event]
    if missing:
        raise ValueError(f"a webhook event needs {', '.join(missing)}")
    now = time.time() if now is None else now
    body = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    deliveries = [
        (uuid.uuid4().hex, hook.url) for hook in hooks if event["decision"] in hook.decisions
    ]
    with state.transaction() as db:
        db.executemany(
            "INSERT INTO webhook_outbox (id, url, body, created_at, next_try)"
            " VALUES (?, ?, ?, ?, ?)",
            ((delivery_id, url, body, now, now) for delivery_id, url in deliveries),
        )
    return [delivery_id for delivery_id, _ in deliveries]


def pending_count(state: MatcherState) -> int:
    """How many deliveries wait to be made (dead letters excluded)."""
    return int(state.fetchone("SELECT count(*) FROM webhook_outbox")[0])


def next_due(state: MatcherState) -> float | None:
    """When (unix seconds) the next delivery may be tried, or None when none waits."""
    row = state.fetchone("SELECT min(next_try) FROM webhook_outbox")
    return None if row[0] is None else float(row[0])


def dead_letters(state: MatcherState, limit: int = 100) -> list[DeadLetter]:
    """Deliveries that gave up, newest first."""
    rows = state.fetchall(
        "SELECT id, url, body, attempts, failed_at, last_error FROM webhook_dead_letters"
        " ORDER BY failed_at DESC LIMIT ?",
        (limit,),
    )
    return [
        DeadLetter(delivery_id, url, json.loads(body), attempts, failed_at, last_error)
        for delivery_id, url, body, attempts, failed_at, last_error in rows
    ]


def retry_dead(state: MatcherState, delivery_id: str, now: float | None = None) -> bool:
    """Put a dead letter back in the outbox with a fresh set of tries, due now; False when there
    is no such dead letter. It keeps its id, so the receiver still sees one event."""
    now = time.time() if now is None else now
    with state.transaction() as db:
        cursor = db.execute(
            "INSERT INTO webhook_outbox (id, url, body, created_at, next_try)"
            " SELECT id, url, body, created_at, ? FROM webhook_dead_letters WHERE id = ?",
            (now, delivery_id),
        )
        db.execute("DELETE FROM webhook_dead_letters WHERE id = ?", (delivery_id,))
    return cursor.rowcount > 0


class WebhookSender:
    """Makes the due deliveries; one sender process at a time (a second would only deliver some
    events twice, which their ids let receivers spot)."""

    def __init__(
        self,
        state: MatcherState,
        hooks: list[WebhookConfig],
        client: httpx.Client | None = None,
    ) -> None:
        self.state = state
        self.hooks = {hook.url: hook for hook in hooks}
        self._owns_client = client is None
        self.client = client or httpx.Client(follow_redirects=False)

    def close(self) -> None:
        """Close the HTTP client if this sender made it."""
        if self._owns_client:
            self.client.close()

    def deliver_due(self, now: float | None = None) -> DeliveryResult:
        """Try every delivery whose time has come, oldest first, and record each outcome."""
        now = time.time() if now is None else now
        delivered = retried = dead = 0
        while rows := self.state.fetchall(
            "SELECT id, url, body, attempts FROM webhook_outbox WHERE next_try <= ?"
            " ORDER BY next_try, id LIMIT ?",
            (now, DUE_BATCH),
        ):
            for delivery_id, url, body, attempts in rows:
                hook = self.hooks.get(url)
                error = self._post(hook, delivery_id, body) if hook else "hook removed"
                if error is None:
                    self._delivered(delivery_id)
                    delivered += 1
                elif hook is None or attempts + 1 >= hook.max_attempts:
                    self._bury(delivery_id, attempts + 1, error, now)
                    dead += 1
                else:
                    self._postpone(delivery_id, attempts + 1, error, now)
                    retried += 1
        return DeliveryResult(delivered, retried, dead)

    def _post(self, hook: WebhookConfig, delivery_id: str, body: bytes) -> str | None:
        """POST one signed delivery, stamped with the time it leaves; None when the receiver
        took it (2xx), else what went wrong. The response body is not read."""
        headers = {
            "Content-Type": "application/json",
            "X-Stopframe-Event-Id": delivery_id,
            "X-Stopframe-Signature": sign(hook.secret, body, int(time.time())),
        }
        try:
            with self.client.stream(
                "POST", hook.url, content=body, headers=headers, timeout=hook.timeout_s
            ) as response:
                status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= status < 300:
                return None
            error = f"HTTP {status}"
        log.warning("webhook to %s failed: %s", httpx.URL(hook.url).host, error)
        return error

    def _delivered(self, delivery_id: str) -> None:
        with self.state.transaction() as db:
            db.execute("DELETE FROM webhook_outbox WHERE id = ?", (delivery_id,))

    def _postpone(self, delivery_id: str, attempts: int, error: str, now: float) -> None:
        with self.state.transaction() as db:
            db.execute(
                "UPDATE webhook_outbox SET attempts = ?, next_try = ?, last_error = ? WHERE id = ?",
                (
                    attempts,
                    now + backoff_delay(attempts, BACKOFF_BASE_S, BACKOFF_CAP_S),
                    error,
                    delivery_id,
                ),
            )

    def _bury(self, delivery_id: str, attempts: int, error: str, now: float) -> None:
        """Move a delivery that used up its tries to the dead letters."""
        with self.state.transaction() as db:
            db.execute(
                "INSERT INTO webhook_dead_letters"
                " (id, url, body, created_at, attempts, failed_at, last_error)"
                " SELECT id, url, body, created_at, ?, ?, ? FROM webhook_outbox WHERE id = ?",
                (attempts, now, error, delivery_id),
            )
            db.execute("DELETE FROM webhook_outbox WHERE id = ?", (delivery_id,))
