"""Signed webhooks: receivers can check the signature; failed deliveries back off, then become
dead letters that an operator can send again."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stopframe.apps.matcher.state import MatcherState, state_path
from stopframe.apps.matcher.webhooks import (
    DeliveryResult,
    WebhookConfig,
    WebhookSender,
    dead_letters,
    enqueue_event,
    next_due,
    pending_count,
    retry_dead,
    sign,
    verify_signature,
)

SECRET = "benign-test-secret-9f2c"
HOOK = WebhookConfig("https://hooks.example.org/stopframe", SECRET)
EVENT: dict[str, Any] = {
    "decision": "block",
    "request_id": "req-1",
    "at": "2024-05-01T12:00:00Z",
    "matches": [{"entry": "reg:7", "distance": 3}],
}


@pytest.fixture
def state(tmp_path: Path) -> Iterator[MatcherState]:
    with MatcherState.open(state_path(tmp_path)) as opened:
        yield opened


class Receiver:
    """A webhook receiver behind `httpx.MockTransport`: answers with the scripted statuses (a
    number, or an exception to raise), then 200, and checks each request's signature."""

    def __init__(self, *script: int | Exception, secret: str = SECRET) -> None:
        self.script = list(script)
        self.secret = secret
        self.requests: list[httpx.Request] = []
        self.verified: list[bool] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = request.read()
        self.verified.append(
            verify_signature(self.secret, request.headers["X-Stopframe-Signature"], body)
        )
        outcome = self.script.pop(0) if self.script else 200
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def sender(state: MatcherState, receiver: Receiver, *hooks: WebhookConfig) -> WebhookSender:
    return WebhookSender(state, list(hooks or [HOOK]), receiver.client())


def test_the_receiver_verifies_the_signed_delivery(state: MatcherState) -> None:
    (delivery_id,) = enqueue_event(state, [HOOK], EVENT, now=0.0)
    receiver = Receiver()
    assert sender(state, receiver).deliver_due(now=0.0) == DeliveryResult(delivered=1)
    (request,) = receiver.requests
    assert receiver.verified == [True]
    assert request.method == "POST" and request.url == HOOK.url
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Stopframe-Event-Id"] == delivery_id
    assert json.loads(request.content) == EVENT
    assert pending_count(state) == 0


def test_a_tampered_body_a_wrong_secret_or_a_stale_time_fail_verification() -> None:
    body = json.dumps(EVENT).encode()
    now = time.time()
    header = sign(SECRET, body, int(now))
    assert verify_signature(SECRET, header, body)
    assert not verify_signature(SECRET, header, body.replace(b"block", b"allow"))
    assert not verify_signature("another-secret", header, body)
    assert not verify_signature(SECRET, sign(SECRET, body, int(now) - 301), body, now=now)
    assert not verify_signature(SECRET, sign(SECRET, body, int(now) + 301), body, now=now)
    assert verify_signature(SECRET, sign(SECRET, body, int(now) - 299), body, now=now)


@pytest.mark.parametrize(
    "header",
    ["", "v1=abc", "t=abc,v1=abc", "t=1,t=2,v1=abc", "t=,v1=", "garbage", "t=12"],
)
def test_malformed_signature_headers_fail(header: str) -> None:
    assert not verify_signature(SECRET, header, b"{}", now=12.0)


def test_a_rotated_secret_is_accepted_among_several_signatures() -> None:
    body = b'{"decision":"block"}'
    old = sign("old-secret", body, 1000)
    new = sign(SECRET, body, 1000)
    header = f"{old},v1={new.rpartition('v1=')[2]}"
    assert verify_signature(SECRET, header, body, now=1000.0)
    assert verify_signature("old-secret", header, body, now=1000.0)


def test_a_receiver_with_another_secret_rejects_the_delivery(state: MatcherState) -> None:
    enqueue_event(state, [HOOK], EVENT, now=0.0)
    receiver = Receiver(secret="not-the-shared-secret")
    sender(state, receiver).deliver_due(now=0.0)
    assert receiver.verified == [False]


def test_hooks_get_only_the_decisions_they_want(state: MatcherState) -> None:
    everything = WebhookConfig(
        "https://audit.example.org/in", "s2", decisions=frozenset({"block", "review", "log"})
    )
    assert enqueue_event(state, [HOOK, everything], {**EVENT, "decision": "log"}) != []
    assert pending_count(state) == 1
    assert len(enqueue_event(state, [HOOK, everything], EVENT)) == 2
    assert enqueue_event(state, [HOOK], {**EVENT, "decision": "none"}) == []
    assert pending_count(state) == 3


def test_an_event_must_say_what_was_decided(state: MatcherState) -> None:
    with pytest.raises(ValueError, match="request_id, matches"):
        enqueue_event(state, [HOOK], {"decision": "block", "at": "2024-05-01T12:00:00Z"})


def test_a_failed_delivery_is_retried_after_its_backoff(state: MatcherState) -> None:
    (delivery_id,) = enqueue_event(state, [HOOK], EVENT, now=0.0)
    receiver = Receiver(503, httpx.ConnectError("refused"))
    webhooks = sender(state, receiver)

    assert webhooks.deliver_due(now=0.0) == DeliveryResult(retried=1)
    due = next_due(state)
    assert due is not None and 1.0 <= due <= 2.0
    assert webhooks.deliver_due(now=due - 0.01) == DeliveryResult()
    assert len(receiver.requests) == 1

    assert webhooks.deliver_due(now=due) == DeliveryResult(retried=1)
    second_due = next_due(state)
    assert second_due is not None and due + 2.0 <= second_due <= due + 4.0
    assert webhooks.deliver_due(now=second_due - 0.01) == DeliveryResult()
    assert len(receiver.requests) == 2

    assert webhooks.deliver_due(now=second_due) == DeliveryResult(delivered=1)
    assert len(receiver.requests) == 3
    assert {r.headers["X-Stopframe-Event-Id"] for r in receiver.requests} == {delivery_id}
    assert receiver.verified == [True, True, True]
    assert pending_count(state) == 0 and dead_letters(state) == []


def test_a_delivery_that_keeps_failing_becomes_a_dead_letter(state: MatcherState) -> None:
    hook = WebhookConfig(HOOK.url, SECRET, max_attempts=3)
    (delivery_id,) = enqueue_event(state, [hook], EVENT, now=0.0)
    receiver = Receiver(500, 500, 500, 500, 500)
    webhooks = sender(state, receiver, hook)
    now = 0.0
    results = []
    for _ in range(3):
        results.append(webhooks.deliver_due(now=now))
        now += 10_000.0
    assert results == [DeliveryResult(retried=1)] * 2 + [DeliveryResult(dead=1)]
    assert pending_count(state) == 0
    (dead,) = dead_letters(state)
    assert (dead.id, dead.url, dead.event, dead.attempts) == (delivery_id, HOOK.url, EVENT, 3)
    assert dead.last_error == "HTTP 500" and dead.failed_at == 20_000.0

    assert webhooks.deliver_due(now=1e9) == DeliveryResult()
    assert len(receiver.requests) == 3

    assert retry_dead(state, delivery_id, now=1e9)
    assert not retry_dead(state, delivery_id)
    assert dead_letters(state) == [] and pending_count(state) == 1
    receiver.script = []
    assert webhooks.deliver_due(now=1e9) == DeliveryResult(delivered=1)
    assert receiver.requests[-1].headers["X-Stopframe-Event-Id"] == delivery_id


def test_a_delivery_for_a_removed_hook_becomes_a_dead_letter(state: MatcherState) -> None:
    enqueue_event(state, [HOOK], EVENT, now=0.0)
    receiver = Receiver()
    other = WebhookConfig("https://elsewhere.example.org/in", "s3")
    assert sender(state, receiver, other).deliver_due(now=0.0) == DeliveryResult(dead=1)
    assert receiver.requests == []
    assert dead_letters(state)[0].last_error == "hook removed"


def test_secrets_are_neither_logged_nor_stored(
    state: MatcherState, caplog: pytest.LogCaptureFixture
) -> None:
    enqueue_event(state, [HOOK], EVENT, now=0.0)
    receiver = Receiver(500, httpx.ConnectError("refused"))
    webhooks = sender(state, receiver)
    with caplog.at_level(logging.DEBUG):
        webhooks.deliver_due(now=0.0)
        webhooks.deliver_due(now=1e6)
    assert "hooks.example.org" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in repr(HOOK)
    assert SECRET.encode() not in state.path.read_bytes()
    for wal in state.path.parent.glob("*-wal"):
        assert SECRET.encode() not in wal.read_bytes()


def test_a_sender_without_a_client_makes_and_closes_its_own(state: MatcherState) -> None:
    webhooks = WebhookSender(state, [HOOK])
    assert isinstance(webhooks.client, httpx.Client)
    webhooks.close()
    assert webhooks.client.is_closed
