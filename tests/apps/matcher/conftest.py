"""Shared pieces of the matcher tests: the shipped sample pictures hashed once, partner list files
in ThreatExchange text (`kind value` lines), a data dir synced from them without any registry,
an in-process API client holding a match key and an admin key, and `world`: a real registry and
matcher on loopback (see `servers.loopback_world`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.apps.matcher.servers import World, loopback_world

from stopframe.apps.matcher.app import create_app
from stopframe.apps.matcher.keys import create_key
from stopframe.apps.matcher.service import MatchService
from stopframe.apps.matcher.sources import PartnerSource
from stopframe.apps.matcher.sync import Syncer
from stopframe.config import MatcherSettings
from stopframe.hashing.files import hash_file
from stopframe.samples import sample_images

BANK = "partner"
FORMAT = "threatexchange-text"
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Picture:
    """A shipped benign sample picture and its signals."""

    path: Path
    pdq: str
    md5: str
    sha256: str


@pytest.fixture(scope="session")
def pictures() -> list[Picture]:
    """The sample pictures, hashed once per session."""
    out = []
    for path in sample_images():
        record = hash_file(path)
        pdq, md5, sha256 = (record.value(kind) for kind in ("pdq", "md5", "sha256"))
        assert pdq and md5 and sha256, record
        out.append(Picture(path, pdq, md5, sha256))
    return out


def flip_bits(value: str, bits: Iterable[int]) -> str:
    """The hex hash `value` with the given bit positions inverted (a near copy)."""
    raw = bytearray(bytes.fromhex(value))
    for bit in bits:
        raw[bit // 8] ^= 1 << (bit % 8)
    return raw.hex()


def random_pdq(count: int, seed: int = 7) -> list[str]:
    """`count` random PDQ values (distinct with overwhelming odds)."""
    rng = np.random.default_rng(seed)
    return [row.tobytes().hex() for row in rng.integers(0, 256, (count, 32), dtype=np.uint8)]


def write_list(path: Path, signals: Iterable[tuple[str, str]]) -> Path:
    """Write a ThreatExchange text list of `(kind, value)` lines at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{kind} {value}\n" for kind, value in signals))
    return path


def partner_syncer(data_dir: Path, path: Path, bank: str = BANK) -> Syncer:
    """A syncer of the one partner list (file or folder) at `path`; close it when done."""
    return Syncer(data_dir, None, [PartnerSource(bank, FORMAT, path)])


def sync_partner(data_dir: Path, path: Path, bank: str = BANK) -> Syncer:
    """Sync the partner list at `path` into `data_dir` once; the closed syncer keeps its status."""
    syncer = partner_syncer(data_dir, path, bank)
    try:
        syncer.sync_once()
    finally:
        syncer.close()
    return syncer


@dataclass
class Api:
    """The matcher app in process, with a key of each scope."""

    client: TestClient
    service: MatchService
    match_key: str
    admin_key: str

    def headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def hashes(self, *signals: tuple[str, str], **extra: Any) -> httpx.Response:
        """POST /v1/match/hashes with `(kind, value)` signals and the match key."""
        body = {"signals": [{"kind": kind, "value": value} for kind, value in signals], **extra}
        return self.client.post("/v1/match/hashes", json=body, headers=self.headers(self.match_key))

    def media(self, data: bytes, content_type: str = "image/jpeg") -> httpx.Response:
        """POST /v1/match/media as multipart field `file`, with the match key."""
        return self.client.post(
            "/v1/match/media",
            files={"file": ("upload", data, content_type)},
            headers=self.headers(self.match_key),
        )

    def admin(self, method: str, path: str) -> httpx.Response:
        """An operator request under /v1/admin with the admin key."""
        return self.client.request(method, f"/v1/admin{path}", headers=self.headers(self.admin_key))


@pytest.fixture
def open_api() -> Iterator[Callable[..., Api]]:
    """Make an `Api` over `MatcherSettings` (keyword arguments go to `MatchService`); every one
    made is closed after the test."""
    with ExitStack() as stack:

        def make(settings: MatcherSettings, **kwargs: Any) -> Api:
            kwargs.setdefault("hooks", [])
            service = MatchService(settings, **kwargs)
            stack.callback(service.close)
            client = stack.enter_context(TestClient(create_app(service=service)))
            return Api(
                client,
                service,
                create_key(service.state, ["match"], "platform"),
                create_key(service.state, ["admin"], "operator"),
            )

        yield make


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A registry and a matcher on loopback, SQLite, syncing (see `servers.loopback_world`)."""
    with loopback_world(tmp_path) as opened:
        yield opened
