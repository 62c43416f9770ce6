"""Registry and matcher on loopback, SQLite: a case registers a picture's hashes, the matcher
blocks a re-encoded copy within 2 s, lets unrelated and allow-listed uploads pass, stops after the
case withdraws, reports back what it matched, and refuses a tampered change page while the old
list keeps serving."""

from __future__ import annotations

import time

from tests.apps.matcher.servers import ALLOW_BANK, CASE_BANK, World, reencoded

from stopframe.samples import sample_images


def test_register_block_allow_withdraw_report_and_refuse_tampering(world: World) -> None:
    picture, unrelated, allowed, later = sample_images()[:4]
    copy = reencoded(picture)
    assert world.upload(copy)["decision"] == "none"

    ids = set(world.register(picture).values())
    elapsed = world.until(lambda a: a["decision"] == "block", copy, limit=5.0)
    assert elapsed < 2.0, f"matchable after {elapsed:.2f} s"
    blocked = world.upload(copy)
    assert {m["entry_id"] for m in blocked["matches"]} <= ids
    assert {m["kind"] for m in blocked["matches"]} == {"pdq"}  # re-encoded: no exact match
    assert blocked["matches"][0]["bank"] == CASE_BANK and blocked["matches"][0]["distance"] <= 31

    assert world.upload(reencoded(unrelated))["decision"] == "none"

    world.register(allowed)  # listed by the registry, but the platform allow-lists it
    allowed_copy = reencoded(allowed)
    world.until(
        lambda a: {m["bank"] for m in a["matches"]} == {CASE_BANK, ALLOW_BANK}, allowed_copy, 5
    )
    answer = world.upload(allowed_copy)
    assert answer["decision"] == "none"
    assert [m["allowed"] for m in answer["matches"] if m["bank"] == ALLOW_BANK] == [True]

    # a tampered change page is refused; the old list keeps serving
    world.tamper.on = True
    refused_before = world.syncer.status.sources["registry"].tampered
    world.register(later)
    deadline = time.monotonic() + 10
    while world.syncer.status.sources["registry"].tampered == refused_before:
        assert time.monotonic() < deadline, "the tampered page was not refused"
        time.sleep(0.05)
    assert world.upload(copy)["decision"] == "block"
    assert world.upload(reencoded(later))["decision"] == "none"
    ready = world.http.get(f"{world.matcher_url}/readyz").json()
    assert ready["sources"]["registry"]["refused_documents"] >= 1
    assert "signature" in ready["sources"]["registry"]["last_refused"]
    world.tamper.on = False
    world.until(lambda a: a["decision"] == "block", reencoded(later), limit=10.0)

    # the case withdraws: the next sync stops the block
    for entry_id in ids:
        world.withdraw(entry_id)
    world.until(lambda a: a["decision"] == "none", copy, limit=5.0)

    # the case holder sees what was matched (reports are batched and deduplicated)
    deadline = time.monotonic() + 10
    while True:
        seen = world.http.get(
            f"{world.registry_url}/v1/cases/{world.number}", headers=world.case
        ).json()
        if seen["matched"] >= 1:
            break
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)
    assert seen["acted_on"] >= 1
    metrics = world.http.get(f"{world.matcher_url}/metrics").text
    assert 'stopframe_matcher_decisions_total{decision="block"}' in metrics
    assert "stopframe_matcher_index_rows" in metrics
