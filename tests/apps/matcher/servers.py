"""End-to-end pieces: run ASGI apps on loopback (a uvicorn server in a thread on a free port), and
`loopback_world`, a real registry and a real matcher on SQLite over loopback with the sync loop
and the report outbox running, for tests that go from a case's hashes to a matcher's decision."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from tests.loopback import serving

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
from stopframe.hashing.files import HashOptions, hash_file
from stopframe.lists.client import RegistryClient
from stopframe.matching.policy import Policy
from stopframe.samples import sample_images

CASE_BANK = "ngo-verified"  # the verified bank cases submit to; its entries block
CASE_KINDS = ["pdq", "pdq_robust", "md5", "sha256"]
ALLOW_BANK = "known-fp"  # the platform's own allow-list (sample picture 2's PDQ)
SYNC_WAIT_S = 1.0  # the sync loop's long-poll (changes arrive at once; teardown waits it out)


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


def picture_signals(path: Path, options: HashOptions | None = None) -> list[dict[str, Any]]:
    """The signals `hash_file` gives the picture (with `options`), as the registry takes them."""
    record = hash_file(path, options)
    return [{"kind": s.kind, "value": s.value, "quality": s.quality} for s in record.signals]


def jpeg(image: Image.Image, quality: int = 70) -> bytes:
    """The picture saved as JPEG, as a platform would receive a copy."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def reencoded(path: Path) -> bytes:
    """The picture as a platform would receive a copy: scaled to 80 % and saved as JPEG q=70."""
    with Image.open(path) as image:
        return jpeg(image.convert("RGB").resize((image.width * 4 // 5, image.height * 4 // 5)))


@dataclass
class World:
    """A registry and a matcher on loopback: a case of `CASE_BANK` (its headers and number) and
    a matcher key of the platform."""

    registry_url: str
    http: httpx.Client
    case: dict[str, str]
    number: str
    matcher_url: str
    matcher_key: str
    syncer: Syncer
    tamper: Tamper

    def register(self, path: Path, options: HashOptions | None = None) -> dict[str, int]:
        """The case registers the picture's signals; returns the entry id of each kind."""
        answer = self.http.post(
            f"{self.registry_url}/v1/cases/{self.number}/entries",
            headers=self.case,
            json={"signals": picture_signals(path, options)},
        )
        assert answer.status_code == 201, answer.text
        return {e["kind"]: e["id"] for e in answer.json()["entries"]}

    def withdraw(self, entry_id: int) -> None:
        """The case withdraws one of its entries."""
        gone = self.http.delete(
            f"{self.registry_url}/v1/cases/{self.number}/entries/{entry_id}", headers=self.case
        )
        assert gone.status_code == 200, gone.text

    def upload(self, data: bytes) -> dict[str, Any]:
        """The matcher's answer to a JPEG upload."""
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


@contextmanager
def loopback_world(tmp_path: Path) -> Iterator[World]:
    """Registry and matcher on loopback, SQLite, the sync loop (long-polling) and the report
    outbox running; the matcher also lists the platform's allow-list `ALLOW_BANK` (holding
    sample picture 2's PDQ), and the registry client can tamper with change pages."""
    images = sample_images()
    registry = open_registry(
        RegistrySettings(
            data_dir=tmp_path / "registry",
            pin_scrypt_n=1024,
            case_bank=CASE_BANK,
            key_rate=10_000.0,
            key_burst=10_000,
            case_rate=10_000.0,
            case_burst=10_000,
        )  # fmt: skip
    )
    with registry.db.write() as session:
        banks.create_bank(session, CASE_BANK, CASE_KINDS, "test", verified=True,
                          action=SuggestedAction.BLOCK)  # fmt: skip
        consumer = keys.create_key(session, "platform", [Scope.READ, Scope.REPORT], "t").key
        submitter = keys.create_key(session, "intake", [Scope.SUBMIT], "t").key
    pinned = {k["key_id"]: k["public_key"] for k in registry.keyring.published()}
    allow_file = tmp_path / "known-false-positives.txt"  # ThreatExchange text: kind value
    allow_file.write_text(f"pdq {hash_file(images[2]).value('pdq')}\n")
    settings = MatcherSettings(matcher_data_dir=tmp_path / "matcher")
    policy = Policy.from_mapping({"banks": {ALLOW_BANK: {"allow": True}}})
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
            [PartnerSource(ALLOW_BANK, "threatexchange-text", allow_file)],
            client=client,
        )
        syncer.sync_once()
        service = MatchService(settings, policy=policy, hooks=[])
        outbox = Outbox(service.state, client, [])
        token = create_matcher_key(service.state, ["match"], "platform")
        threads = [
            threading.Thread(target=syncer.run, args=(stop, SYNC_WAIT_S, 0.5), daemon=True),
            threading.Thread(target=outbox.run, args=(stop,), daemon=True),
        ]
        for thread in threads:
            thread.start()
        created = http.post(
            f"{registry_url}/v1/cases", headers={"Authorization": f"Bearer {submitter}"}
        ).json()
        case = {"Authorization": f"Bearer {submitter}", "X-Case-PIN": created["pin"]}
        try:
            with serving(create_matcher(service=service)) as matcher_url:
                yield World(registry_url, http, case, created["case_number"], matcher_url,
                            token, syncer, tamper)  # fmt: skip
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
            service.close()
            syncer.close()
    registry.db.dispose()
