"""TMK lists end to end, registry and matcher on loopback, SQLite: a case bank of kinds ["tmk"]
takes an item holding a sample video's TMK+PDQF hash; the matcher syncs it, hashes uploaded
videos with TMK only once a TMK list is loaded, blocks a re-encoded, downscaled copy at the
level-2 distance and lets an unrelated video through. The same hash in hex is the same item, and
one case request carries as many TMK values as the values body limit (4 MiB) holds; snapshot
pages of TMK values are bounded by their size."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from tests.apps.matcher import servers
from tests.apps.matcher.servers import CASE_BANK, World, loopback_world

from stopframe.apps.registry.services import banks, entries, feed
from stopframe.apps.registry.state import open_registry
from stopframe.config import RegistrySettings
from stopframe.signals import TMK, Signal
from stopframe.signals.tmk import TmkAccumulator, hash_video_tmk, tmk_bytes, tmk_text

av = pytest.importorskip("av", reason="hashing videos needs PyAV (the `video` extra)")
LISTED = "doorknob-hd-no-bar"  # 4.3 s of 1280 x 720 at 30 fps
UNRELATED = "pattern-sd-grey-bar"
SYNC_LIMIT_S = 30.0  # until the matcher has synced the item (each upload hashes for seconds)


@pytest.fixture
def videos(vectors_dir: Path) -> Path:
    folder = vectors_dir / "vpdq" / "sample-videos"
    if not all((folder / f"{name}.mp4").is_file() for name in (LISTED, UNRELATED)):
        pytest.skip(f"sample videos missing from {folder}")
    return folder


@pytest.fixture
def tmk_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The loopback world with a case bank that lists TMK hashes only."""
    monkeypatch.setattr(servers, "CASE_KINDS", [TMK.name])
    with loopback_world(tmp_path) as world:
        yield world


def reencoded(path: Path) -> bytes:
    """The video as a platform might receive a copy: half size, H.264 at a low quality."""
    out = io.BytesIO()
    with av.open(str(path)) as source, av.open(out, mode="w", format="mp4") as target:
        decoded = source.streams.video[0]
        stream = target.add_stream("libx264", rate=decoded.average_rate)
        stream.width, stream.height = decoded.width // 2, decoded.height // 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "32"}
        for frame in source.decode(decoded):
            rgb = frame.to_ndarray(width=stream.width, height=stream.height, format="rgb24")
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
    return out.getvalue()


def upload(world: World, data: bytes) -> dict[str, Any]:
    """The matcher's answer to an MP4 upload."""
    answer = world.http.post(
        f"{world.matcher_url}/v1/match/media",
        headers={"Authorization": f"Bearer {world.matcher_key}"},
        files={"file": ("upload.mp4", data, "video/mp4")},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def add_items(world: World, items: list[dict[str, Any]]) -> httpx.Response:
    """The case adds files' hashes as items."""
    return world.http.post(
        f"{world.registry_url}/v1/cases/{world.number}/items",
        headers=world.case,
        json={"items": items},
    )


def test_a_listed_tmk_blocks_a_reencoded_copy_and_not_an_unrelated_video(
    tmk_world: World, videos: Path
) -> None:
    listed, unrelated = videos / f"{LISTED}.mp4", videos / f"{UNRELATED}.mp4"
    copy = reencoded(listed)
    before = upload(tmk_world, copy)
    assert (before["decision"], before["matches"]) == ("none", [])
    assert TMK.name not in [s["kind"] for s in before["signals"]]  # no TMK list yet: not hashed

    value = tmk_text(hash_video_tmk(listed).features.to_bytes())
    assert len(value) > 300_000
    added = add_items(
        tmk_world, [{"media": "video", "signals": [{"kind": TMK.name, "value": value}]}]
    )
    assert added.status_code == 201, added.text
    assert added.json()["items"][0]["kinds"] == [TMK.name]
    as_hex = {"kind": TMK.name, "value": tmk_bytes(value).hex()}  # the same hash, hex: 527 KB
    again = add_items(tmk_world, [{"media": "video", "signals": [as_hex]}])
    assert (again.status_code, again.json()["added"]) == (200, 0), again.text

    started = time.monotonic()
    answer = upload(tmk_world, copy)
    while answer["decision"] != "block" and time.monotonic() - started < SYNC_LIMIT_S:
        time.sleep(0.1)
        answer = upload(tmk_world, copy)
    matches = answer["matches"]
    assert answer["decision"] == "block", answer
    assert [(m["kind"], m["bank"]) for m in matches] == [(TMK.name, CASE_BANK)]
    assert 0 <= matches[0]["distance"] <= TMK.default_threshold

    other = upload(tmk_world, unrelated.read_bytes())
    assert (other["decision"], other["matches"]) == ("none", [])


def made_up_tmk(seed: int) -> str:
    """The tmk value of 60 frames of made-up frame features."""
    accumulator = TmkAccumulator()
    for row in np.random.default_rng(seed).normal(size=(60, 256)):
        accumulator.add(row)
    return tmk_text(accumulator.finish().to_bytes())


def test_a_case_request_carries_about_eleven_tmk_values_within_the_body_limit(
    tmk_world: World,
) -> None:
    items = [
        {"media": "video", "signals": [{"kind": TMK.name, "value": made_up_tmk(seed)}]}
        for seed in range(12)
    ]
    too_many = add_items(tmk_world, items)
    assert too_many.status_code == 413, too_many.text
    fits = add_items(tmk_world, items[:11])
    assert (fits.status_code, fits.json()["added"]) == (201, 11), fits.text


def test_snapshot_pages_of_tmk_values_are_bounded_by_their_size(tmp_path: Path) -> None:
    registry = open_registry(RegistrySettings(data_dir=tmp_path, pin_scrypt_n=1024))
    values = [made_up_tmk(seed) for seed in range(5)]
    with registry.db.write() as session:
        bank = banks.create_bank(session, "videos", [TMK.name], "test", verified=True)
        ids, _ = entries.add_signals(
            session, bank, "test", None, [Signal(TMK.name, v) for v in values]
        )
    pages, after = [], 0
    with registry.db.read() as session:
        while True:
            page = feed.snapshot_payload(session, after, 100, max_value_chars=2 * len(values[0]))
            pages.append([e["id"] for e in page["entries"]])
            if not page["more"]:
                break
            after = page["entries"][-1]["id"]
    registry.db.dispose()
    assert pages == [ids[:2], ids[2:4], ids[4:]]
    assert feed.SNAPSHOT_PAGE_CHARS // len(values[0]) > 100  # a full page holds over 100 videos
