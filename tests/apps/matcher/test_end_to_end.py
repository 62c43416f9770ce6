"""Registry and matcher on loopback, SQLite: a case registers a picture's hashes, the matcher
blocks a re-encoded copy within 2 s, lets unrelated and allow-listed uploads pass, stops after the
case withdraws, reports back what it matched, and refuses a tampered change page while the old
list keeps serving."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from tests.apps.matcher.servers import serving

from stopframe.apps.matcher.app import create_app as create_matcher
from stopframe.apps.matcher.keys import create_key as create_matcher_key
from stopframe.apps.matcher.outbox import Outbox
from stopframe.apps.matcher.service import MatchService
from stopframe.apps.matcher.sources import PartnerSource
from stopframe.apps.matcher.sync import RegistrySource, Syncer
from stopframe.apps.registry.app import create_app as create_registry
from stopframe.apps.registry.services import banks, keys
from stopframe.apps.registry.state import open_registry
from stopframe.apps.registry.terms import Scope, SuggestedAction
from stopframe.config import MatcherSettings, RegistrySettings
from stopframe.hashing.files import hash_file
from stopframe.lists.client import RegistryClient
from stopframe.matching.policy import Policy
from stopframe.samples import sample_images

BANK = "ngo-verified"


class Tamper(httpx.BaseTransport):
    """Passes requests to the registry; while `on`, alters change pages (not re-signed)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.on = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not (self.on and request.url.path.endswith("/lists/changes")):
            return response
        body = json.loads(response.read())
        for change in body["payload"]["changes"]:
            change["op"] = "withdraw" if change["op"] == "add" else "add"
        return httpx.Response(response.status_code, headers=response.headers, json=body)


def picture_signals(path: Path) -> list[dict[str, Any]]:
    record = hash_file(path)
    return [{"kind": s.kind, "value": s.value, "quality": s.quality} for s in record.signals]


def reencoded(path: Path) -> bytes:
    """The picture as a platform would receive a copy: scaled to 80 % and saved as JPEG q=70."""
    with Image.open(path) as image:
        small = image.convert("RGB").resize((image.width * 4 // 5, image.height * 4 // 5))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=70)
    return out.getvalue()


@dataclass
class World:
    registry_url: str
    http: httpx.Client
    case: dict[str, str]
    number: str
    matcher_url: str
    matcher_key: str
    syncer: Syncer
    tamper: Tamper

    def register(self, path: Path) -> list[int]:
        answer = self.http.post(
            f"{self.registry_url}/v1/cases/{self.number}/entries",
            headers=self.case,
            json={"signals": picture_signals(path)},
        )
        assert answer.status_code == 201, answer.text
        return [e["id"] for e in answer.json()["entries"]]

    def upload(self, data: bytes) -> dict[str, Any]:
        answer = self.http.post(
            f"{self.matcher_url}/v1/match/media",
            headers={"Authorization": f"Bearer {self.matcher_key}"},
            files={"file": ("upload.jpg", data, "image/jpeg")},
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def until(self, check: Callable[[dict[str, Any]], bool], data: bytes, limit: float) -> float:
        """Seconds until an upload of `data` satisfies `check` (fails past `limit`)."""
        started = time.monotonic()
        while True:
            answer = self.upload(data)
            if check(answer):
                return time.monotonic() - started
            assert time.monotonic() - started < limit, answer
            time.sleep(0.05)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    images = sample_images()
    registry = open_registry(
        RegistrySettings(
            data_dir=tmp_path / "registry",
            pin_scrypt_n=1024,
            case_bank=BANK,
            key_rate=10_000.0,
            key_burst=10_000,
            case_rate=10_000.0,
            case_burst=10_000,
        )  # fmt: skip
    )
    with registry.db.write() as session:
        banks.create_bank(session, BANK, ["pdq", "md5", "sha256"], "test", verified=True,
                          action=SuggestedAction.BLOCK)  # fmt: skip
        consumer = keys.create_key(session, "platform", [Scope.READ, Scope.REPORT], "t").key
        submitter = keys.create_key(session, "intake", [Scope.SUBMIT], "t").key
    pinned = {k["key_id"]: k["public_key"] for k in registry.keyring.published()}
    allow_file = tmp_path / "known-false-positives.txt"  # ThreatExchange text: kind value
    allow_file.write_text(f"pdq {hash_file(images[2]).value('pdq')}\n")
    settings = MatcherSettings(matcher_data_dir=tmp_path / "matcher")
    policy = Policy.from_mapping({"banks": {"known-fp": {"allow": True}}})
    tamper = Tamper()
    stop = threading.Event()
    with (
        serving(create_registry(registry=registry)) as registry_url,
        httpx.Client(timeout=30) as http,
    ):
        client = RegistryClient(
            registry_url, consumer, pinned,
            http=httpx.Client(base_url=registry_url, timeout=60, transport=tamper),
        )  # fmt: skip
        syncer = Syncer(
            settings.matcher_data_dir,
            RegistrySource(registry_url, consumer, pinned),
            [PartnerSource("known-fp", "threatexchange-text", allow_file)],
            client=client,
        )
        syncer.sync_once()
        service = MatchService(settings, policy=policy, hooks=[])
        outbox = Outbox(service.state, client, [])
        token = create_matcher_key(service.state, ["match"], "platform")
        threads = [
            threading.Thread(target=syncer.run, args=(stop, 5.0, 0.5), daemon=True),
            threading.Thread(target=outbox.run, args=(stop,), daemon=True),
        ]
        for thread in threads:
            thread.start()
        created = http.post(
            f"{registry_url}/v1/cases", headers={"Authorization": f"Bearer {submitter}"}
        ).json()
        case = {"Authorization": f"Bearer {submitter}", "X-Case-PIN": created["pin"]}
        with serving(create_matcher(service=service)) as matcher_url:
            yield World(registry_url, http, case, created["case_number"], matcher_url, token,
                        syncer, tamper)  # fmt: skip
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
        service.close()
        syncer.close()
    registry.db.dispose()


def test_register_block_allow_withdraw_report_and_refuse_tampering(world: World) -> None:
    picture, unrelated, allowed, later = sample_images()[:4]
    copy = reencoded(picture)
    assert world.upload(copy)["decision"] == "none"

    ids = world.register(picture)
    elapsed = world.until(lambda a: a["decision"] == "block", copy, limit=5.0)
    assert elapsed < 2.0, f"matchable after {elapsed:.2f} s"
    blocked = world.upload(copy)
    assert {m["entry_id"] for m in blocked["matches"]} <= set(ids)
    assert {m["kind"] for m in blocked["matches"]} == {"pdq"}  # re-encoded: no exact match
    assert blocked["matches"][0]["bank"] == BANK and blocked["matches"][0]["distance"] <= 31

    assert world.upload(reencoded(unrelated))["decision"] == "none"

    world.register(allowed)  # listed by the registry, but the platform allow-lists it
    allowed_copy = reencoded(allowed)
    world.until(lambda a: {m["bank"] for m in a["matches"]} == {BANK, "known-fp"}, allowed_copy, 5)
    answer = world.upload(allowed_copy)
    assert answer["decision"] == "none"
    assert [m["allowed"] for m in answer["matches"] if m["bank"] == "known-fp"] == [True]

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
        gone = world.http.delete(
            f"{world.registry_url}/v1/cases/{world.number}/entries/{entry_id}", headers=world.case
        )
        assert gone.status_code == 200, gone.text
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
