"""The matcher's HTTP API in process, over lists synced from a partner file (no registry).

Covered: /v1/match/hashes batches (exact and near PDQ, md5, per-signal decisions) and their
refusals as problem+json; local policy (action override, a disabled bank, ignored entries);
flood quarantine through the API and its release by an operator; keys and scopes; /livez,
/readyz (no sync yet, a good sync, a stale source) and /metrics; the webhook and report outboxes
a decision fills; and the decision log, which holds matches and never the upload's hashes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.apps.matcher.conftest import (
    BANK,
    PROBLEM_JSON,
    Api,
    Picture,
    flip_bits,
    sync_partner,
    write_list,
)

from stopframe.apps.matcher import reports, webhooks
from stopframe.apps.matcher.status import STATUS_FILE
from stopframe.apps.matcher.webhooks import WebhookConfig
from stopframe.config import MatcherSettings
from stopframe.matching.policy import Policy

OpenApi = Callable[..., Api]
BLOCK = Policy.from_mapping({"banks": {BANK: {"action": "block"}}})
NEAR = range(0, 64, 13)  # 5 bits flipped: a near copy, well within PDQ's threshold of 31
FAR = range(0, 256, 2)  # 128 bits flipped: unrelated


@pytest.fixture
def listed(tmp_path: Path, pictures: list[Picture]) -> MatcherSettings:
    """A data dir synced from a partner file. Entry ids follow the file: 1 = the first
    picture's pdq, 2 = its md5, 3 = the second picture's pdq."""
    first, second = pictures[:2]
    path = write_list(
        tmp_path / "partner.txt", [("pdq", first.pdq), ("md5", first.md5), ("pdq", second.pdq)]
    )
    data_dir = tmp_path / "matcher"
    assert sync_partner(data_dir, path).status.sources[BANK].entries == 3
    return MatcherSettings(matcher_data_dir=data_dir, flood_limit=3, stale_after_s=60)


def problem(answer: httpx.Response, status: int) -> str:
    """Check `answer` is a problem+json refusal with `status`; return its detail."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    body = answer.json()
    assert body["status"] == status
    return str(body["detail"])


def keys_of(matches: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(m["entry_id"], m["distance"]) for m in matches]


# -- /v1/match/hashes ----------------------------------------------------------------------
def test_a_batch_answers_each_signal_and_decides_over_all(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture]
) -> None:
    api = open_api(listed)
    first, _, unlisted = pictures[:3]
    answer = api.hashes(
        ("pdq", first.pdq),
        ("pdq", flip_bits(first.pdq, NEAR)),
        ("md5", first.md5),
        ("pdq", unlisted.pdq),
        ("pdq", flip_bits(first.pdq, FAR)),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    results = body["results"]
    assert [r["kind"] for r in results] == ["pdq", "pdq", "md5", "pdq", "pdq"]
    assert [keys_of(r["matches"]) for r in results] == [[(1, 0)], [(1, 5)], [(2, 0)], [], []]
    # a partner bank is unverified: its matches lead to review unless the policy says more
    assert [r["decision"] for r in results] == ["review", "review", "review", "none", "none"]
    assert body["decision"] == "review"
    assert results[0]["matches"][0] == {
        "entry_id": 1, "source": BANK, "bank": BANK, "kind": "pdq", "distance": 0,
        "action": "review", "allowed": False, "quarantined": False,
    }  # fmt: skip
    assert len(body["request_id"]) == 32

    nothing = api.hashes(("pdq", unlisted.pdq)).json()
    assert nothing["decision"] == "none" and nothing["results"][0]["matches"] == []


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"signals": [{"kind": "md5", "value": "0" * 32}, {"kind": "nope", "value": "x"}]},
         422, "signals[1]: unknown signal type 'nope'"),
        ({"signals": [{"kind": "pdq", "value": "abc"}]}, 422, "signals[0]: pdq must be"),
        ({"signals": [{"kind": "pdq"}]}, 422, "signals[0]"),
        ({"signals": []}, 422, "at least one signal"),
        ({"signals": [{"kind": "md5", "value": "0" * 32}] * 5}, 413, "at most 4"),
        ({"signal": []}, 422, "expected {"),
        ([], 422, "expected {"),
        ({"signals": [{"kind": "md5", "value": "0" * 32}], "content_id": 7}, 422, "content_id"),
    ],
)  # fmt: skip
def test_a_bad_batch_is_refused_naming_what_is_wrong(
    open_api: OpenApi, listed: MatcherSettings, body: Any, status: int, detail: str
) -> None:
    api = open_api(listed.model_copy(update={"max_batch_hashes": 4}))
    answer = api.client.post("/v1/match/hashes", json=body, headers=api.headers(api.match_key))
    assert detail in problem(answer, status)


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"\xff\xfe\x00", b"[" * 200_000],  # the last: nested past the parser's depth
    ids=["broken", "binary", "nested"],
)
def test_a_body_that_is_not_json_is_refused(
    open_api: OpenApi, listed: MatcherSettings, raw: bytes
) -> None:
    api = open_api(listed)
    answer = api.client.post("/v1/match/hashes", content=raw, headers=api.headers(api.match_key))
    assert "not JSON" in problem(answer, 422)
    assert api.hashes(("md5", "0" * 32)).status_code == 200


def test_a_body_over_the_batch_bound_is_refused_before_parsing(
    open_api: OpenApi, listed: MatcherSettings
) -> None:
    api = open_api(listed.model_copy(update={"max_batch_hashes": 2}))
    answer = api.client.post(
        "/v1/match/hashes", content=b" " * 100_000, headers=api.headers(api.match_key)
    )
    assert "byte limit" in problem(answer, 413)


# -- policy ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "first", "second"),
    [
        (None, ("review", [1]), ("review", [3])),
        ({"banks": {BANK: {"action": "block"}}}, ("block", [1]), ("block", [3])),
        ({"banks": {BANK: {"action": "log"}}}, ("log", [1]), ("log", [3])),
        ({"banks": {BANK: {"enabled": False}}}, ("none", []), ("none", [])),
        ({"banks": {BANK: {"threshold": 4}}}, ("none", []), ("review", [3])),
        ({"banks": {BANK: {"action": "block"}}, "allow_entries": [f"{BANK}:1"]},
         ("none", []), ("block", [3])),
    ],
    ids=["listed", "block", "log", "disabled", "threshold", "allow-entry"],
)  # fmt: skip
def test_the_local_policy_overrides_what_the_list_says(
    open_api: OpenApi,
    listed: MatcherSettings,
    pictures: list[Picture],
    policy: dict[str, Any] | None,
    first: tuple[str, list[int]],
    second: tuple[str, list[int]],
) -> None:
    """The near copy of the first picture (5 bits off) and the second picture exactly."""
    api = open_api(listed, policy=None if policy is None else Policy.from_mapping(policy))
    for (decision, entries), value in zip(
        (first, second), (flip_bits(pictures[0].pdq, NEAR), pictures[1].pdq), strict=True
    ):
        body = api.hashes(("pdq", value)).json()
        assert body["decision"] == decision, body
        assert [m["entry_id"] for m in body["results"][0]["matches"]] == entries
    if policy and "allow_entries" in policy:  # an ignored entry never matches, even exactly
        assert api.hashes(("pdq", pictures[0].pdq)).json()["results"][0]["matches"] == []


def test_ignoring_one_entry_does_not_suppress_the_other_entries_of_an_upload(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture]
) -> None:
    policy = Policy.from_mapping(
        {"banks": {BANK: {"action": "block"}}, "allow_entries": [f"{BANK}:1"]}
    )
    api = open_api(listed, policy=policy)
    first = pictures[0]
    body = api.hashes(("pdq", first.pdq), ("md5", first.md5)).json()
    assert [r["decision"] for r in body["results"]] == ["none", "block"]
    assert body["decision"] == "block"


# -- flood quarantine --------------------------------------------------------------------------
def test_an_entry_matching_too_many_uploads_is_quarantined_until_released(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture]
) -> None:
    api = open_api(listed, policy=BLOCK)  # flood_limit=3
    uploads = [flip_bits(pictures[0].pdq, [bit]) for bit in (3, 40, 77, 150)]

    def decide(value: str) -> tuple[str, list[bool]]:
        body = api.hashes(("pdq", value)).json()
        return body["decision"], [m["quarantined"] for m in body["results"][0]["matches"]]

    for value in uploads[:3]:
        assert decide(value) == ("block", [False])
    assert decide(uploads[0]) == ("block", [False])  # a repeat is not another upload
    assert api.admin("GET", "/quarantine").json() == []

    assert decide(uploads[3]) == ("review", [True])  # the fourth distinct upload
    held = api.admin("GET", "/quarantine").json()
    assert [(q["entry"], q["count"]) for q in held] == [(f"{BANK}:1", 4)]
    assert decide(uploads[0]) == ("review", [True])  # every upload, while quarantined
    assert decide(pictures[1].pdq) == ("block", [False])  # other entries act as before

    released = api.admin("POST", f"/quarantine/{BANK}:1/release")
    assert released.status_code == 200 and released.json() == {"released": f"{BANK}:1"}
    assert api.admin("GET", "/quarantine").json() == []
    assert decide(uploads[0]) == ("block", [False])
    problem(api.admin("POST", f"/quarantine/{BANK}:1/release"), 404)


# -- keys --------------------------------------------------------------------------------------
def test_keys_and_scopes(open_api: OpenApi, listed: MatcherSettings) -> None:
    api = open_api(listed)
    body = {"signals": [{"kind": "md5", "value": "0" * 32}]}
    post = api.client.post
    assert "API key" in problem(post("/v1/match/hashes", json=body), 401)
    problem(post("/v1/match/hashes", json=body, headers=api.headers("sfm_x_nope")), 401)
    problem(post("/v1/match/hashes", json=body, headers={"Authorization": api.match_key}), 401)
    problem(post("/v1/match/media", content=b"x", headers={"content-type": "image/jpeg"}), 401)
    assert "'admin'" in problem(
        api.client.get("/v1/admin/quarantine", headers=api.headers(api.match_key)), 403
    )
    assert "'match'" in problem(
        post("/v1/match/hashes", json=body, headers=api.headers(api.admin_key)), 403
    )
    problem(api.client.get("/v1/admin/decisions"), 401)
    assert post("/v1/match/hashes", json=body, headers=api.headers(api.match_key)).is_success
    assert api.admin("GET", "/decisions").is_success


# -- health and metrics --------------------------------------------------------------------------
def wait_ready(api: Api, limit: float = 5.0) -> dict[str, Any]:
    """/readyz's body once it answers 200 (the app switches generations every 0.2 s)."""
    deadline = time.monotonic() + limit
    while True:
        answer = api.client.get("/readyz")
        if answer.status_code == 200:
            return dict(answer.json())
        assert time.monotonic() < deadline, answer.json()
        time.sleep(0.05)


def test_readyz_follows_the_sync_and_names_a_stale_source(
    open_api: OpenApi, tmp_path: Path, pictures: list[Picture]
) -> None:
    data_dir = tmp_path / "matcher"
    api = open_api(MatcherSettings(matcher_data_dir=data_dir, stale_after_s=60))
    assert api.client.get("/livez").json() == {"status": "ok"}
    before = api.client.get("/readyz")
    assert before.status_code == 503
    assert not before.json()["ready"]
    assert "the sync process has not reported yet" in before.json()["problems"]
    problem(api.hashes(("md5", pictures[0].md5)), 503)  # nothing to match against yet

    sync_partner(data_dir, write_list(tmp_path / "p.txt", [("md5", pictures[0].md5)]))
    ready = wait_ready(api)
    assert ready["problems"] == [] and ready["index_rows"] == {"md5": 1}
    assert ready["sources"][BANK]["entries"] == 1 and ready["sources"][BANK]["lag"] == 0
    assert api.hashes(("md5", pictures[0].md5)).json()["decision"] == "review"

    status = json.loads((data_dir / STATUS_FILE).read_text())
    status["sources"][BANK]["last_success"] = time.time() - 61
    status["sources"][BANK]["last_error"] = "partner.txt: line 3: pdq must be 64 hex characters"
    (data_dir / STATUS_FILE).write_text(json.dumps(status))
    stale = api.client.get("/readyz")
    assert stale.status_code == 503
    assert stale.json()["problems"] == [f"{BANK}: no good sync in 60 s"]
    assert "line 3" in stale.json()["sources"][BANK]["last_error"]
    assert api.hashes(("md5", pictures[0].md5)).json()["decision"] == "review"  # still serving


def metric_values(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    answer = api.client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_count_requests_and_describe_the_lists(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture]
) -> None:
    api = open_api(listed, policy=BLOCK)
    before = metric_values(api)
    api.hashes(("pdq", pictures[0].pdq), ("md5", pictures[0].md5), ("pdq", pictures[2].pdq))
    api.hashes(("md5", "0" * 32))
    api.hashes(("nope", "x"))
    api.client.post("/v1/match/hashes", json={"signals": []})  # no key
    api.admin("GET", "/decisions?limit=0")
    after = metric_values(api)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("stopframe_matcher_lookups_total", kind="pdq") == 2
    assert grew("stopframe_matcher_lookups_total", kind="md5") == 2
    assert grew("stopframe_matcher_decisions_total", decision="block") == 1
    assert grew("stopframe_matcher_decisions_total", decision="none") == 1
    assert grew("stopframe_matcher_matches_total", bank=BANK, decision="block") == 2
    assert grew("stopframe_matcher_request_seconds_count", route="hashes") == 2
    assert grew("stopframe_matcher_refused_total", status="422") == 2
    assert grew("stopframe_matcher_refused_total", status="401") == 1
    generation = api.service.index_set.manifest
    assert generation is not None
    assert after[("stopframe_matcher_generation", ())] == generation.generation
    assert after[("stopframe_matcher_index_rows", (("kind", "pdq"),))] == 2
    assert after[("stopframe_matcher_index_rows", (("kind", "md5"),))] == 1
    assert after[("stopframe_matcher_list_entries", (("source", BANK),))] == 3
    assert after[("stopframe_matcher_list_lag", (("source", BANK),))] == 0
    assert after[("stopframe_matcher_sync_failures", (("source", BANK),))] == 0
    assert 0 <= after[("stopframe_matcher_sync_age_seconds", (("source", BANK),))] < 60


# -- what a decision leaves behind ---------------------------------------------------------------
def test_a_block_queues_a_webhook_and_one_report_per_entry_and_upload(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture]
) -> None:
    hook = WebhookConfig("http://127.0.0.1:9/hook", "s3cret", decisions=frozenset({"block"}))
    api = open_api(listed, policy=BLOCK, hooks=[hook])
    state = api.service.state
    first = pictures[0]

    assert api.hashes(("pdq", pictures[2].pdq)).json()["decision"] == "none"
    assert (webhooks.pending_count(state), reports.pending_count(state, BANK)) == (0, 0)

    assert api.hashes(("pdq", first.pdq)).json()["decision"] == "block"
    assert (webhooks.pending_count(state), reports.pending_count(state, BANK)) == (1, 1)
    (body,) = [json.loads(row[0]) for row in state.fetchall("SELECT body FROM webhook_outbox")]
    assert body["decision"] == "block" and keys_of(body["matches"]) == [(1, 0)]
    assert first.pdq not in json.dumps(body)

    api.hashes(("pdq", first.pdq))  # the same upload again: a webhook per decision, no report
    assert (webhooks.pending_count(state), reports.pending_count(state, BANK)) == (2, 1)
    api.hashes(("pdq", flip_bits(first.pdq, NEAR)))  # another upload of the same entry
    assert (webhooks.pending_count(state), reports.pending_count(state, BANK)) == (3, 2)
    api.hashes(("pdq", flip_bits(first.pdq, [200])), ("md5", first.md5))  # two new pairs
    assert (webhooks.pending_count(state), reports.pending_count(state, BANK)) == (4, 4)
    api.hashes(("pdq", first.pdq), ("md5", first.md5))  # each signal counts as its upload
    assert (webhooks.pending_count(state), reports.pending_count(state, BANK)) == (5, 4)


def test_a_review_goes_to_hooks_that_want_reviews_only(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture]
) -> None:
    hooks = [
        WebhookConfig("http://127.0.0.1:9/blocks", "a", decisions=frozenset({"block"})),
        WebhookConfig("http://127.0.0.1:9/all", "b"),
    ]
    api = open_api(listed, hooks=hooks)
    assert api.hashes(("pdq", pictures[0].pdq)).json()["decision"] == "review"
    urls = [row[0] for row in api.service.state.fetchall("SELECT url FROM webhook_outbox")]
    assert urls == ["http://127.0.0.1:9/all"]


def test_the_decision_log_lists_matches_and_never_the_upload(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture]
) -> None:
    api = open_api(listed, policy=BLOCK)
    first = pictures[0]
    near = flip_bits(first.pdq, NEAR)
    api.hashes(("pdq", pictures[2].pdq))  # matched nothing: not logged
    blocked = api.hashes(("pdq", near), content_id="post-1").json()
    uploaded = api.media(first.path.read_bytes()).json()
    assert uploaded["decision"] == "block"

    log = api.admin("GET", "/decisions").json()
    assert [d["request_id"] for d in log] == [blocked["request_id"], uploaded["request_id"]]
    assert [(d["decision"], d["content_id"]) for d in log] == [("block", "post-1"), ("block", None)]
    assert keys_of(log[0]["matches"]) == [(1, 5)]
    assert sorted(keys_of(log[1]["matches"])) == [(1, 0), (2, 0)]
    text = json.dumps(log)
    for secret in (near, first.pdq, first.md5, first.sha256):
        assert secret not in text
    assert set(log[1]) == {"id", "at", "request_id", "content_id", "decision", "matches"}
    paged = api.admin("GET", f"/decisions?after={log[0]['id']}&limit=5").json()
    assert [d["id"] for d in paged] == [log[1]["id"]]
    problem(api.admin("GET", "/decisions?limit=0"), 422)
