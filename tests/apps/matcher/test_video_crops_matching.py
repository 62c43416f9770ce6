"""Cropped, mirrored and cropped, and slightly turned copies of a registered video, end to end: a
case adds the recording as an item with its vPDQ and robust vPDQ (`stopframe hash --robust`), the
matcher syncs from the registry over loopback, and such uploads are decided like whole copies;
against plain vPDQ alone they pass, and an unrelated clip passes either way. Clips are small pans
across smooth random pictures (benign)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from tests.apps.matcher.conftest import Api
from tests.apps.matcher.test_video_segments_matching import SIZE, clip, pan, write
from tests.loopback import serving

from stopframe.apps.matcher.sync import RegistrySource, Syncer
from stopframe.apps.registry.app import create_app as create_registry
from stopframe.apps.registry.services import keys
from stopframe.apps.registry.state import open_registry
from stopframe.apps.registry.terms import Scope
from stopframe.config import MatcherSettings, RegistrySettings
from stopframe.hashing.files import HashOptions, hash_file
from stopframe.matching.policy import Policy
from stopframe.signals import VPDQ, VPDQ_ROBUST

av = pytest.importorskip("av")

OpenApi = Callable[..., Api]
CASES = "video-cases"  # the registry's case bank, created with its default kinds on first use
LISTED_S = 30.0
BLOCK = Policy.from_mapping({"banks": {CASES: {"action": "block"}}})


def cropped(image: Image.Image) -> Image.Image:
    """8 % cut from the left and 8 % from the top, scaled back to the clip's size."""
    w, h = image.size
    return image.crop((round(0.08 * w), round(0.08 * h), w, h)).resize(SIZE)


def turned(image: Image.Image) -> Image.Image:
    """Turned 4 degrees in the frame: corners cut off, black corners in."""
    return image.rotate(4, Image.Resampling.BILINEAR)


def mirrored(image: Image.Image) -> Image.Image:
    return cropped(image).transpose(Image.Transpose.FLIP_LEFT_RIGHT)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The registered recording, its edited copies and an unrelated clip."""
    folder = tmp_path_factory.mktemp("crops")
    frames = clip(pan(11, LISTED_S), 0.0, LISTED_S)
    edits = {"cropped": cropped, "mirrored+cropped": mirrored, "turned": turned}
    out = {"listed": write(folder / "listed.mp4", frames)}
    for name, edit in edits.items():
        out[name] = write(folder / f"{name}.mp4", [edit(image) for image in frames])
    out["unrelated"] = write(folder / "unrelated.mp4", clip(pan(12, 20.0), 0.0, 20.0))
    return out


def registered_api(
    tmp_path: Path, clips: dict[str, Path], open_api: OpenApi, kinds: set[str]
) -> Api:
    """A case adds the recording's signals of `kinds` as one video item; a matcher syncs."""
    record = hash_file(clips["listed"], HashOptions(robust=True))
    signals = [{"kind": s.kind, "value": s.value} for s in record.signals if s.kind in kinds]
    assert {s["kind"] for s in signals} == kinds
    registry = open_registry(
        RegistrySettings(data_dir=tmp_path / "registry", pin_scrypt_n=1024, case_bank=CASES)
    )
    with registry.db.write() as session:
        consumer = keys.create_key(session, "platform", [Scope.READ], "t").key
        submitter = keys.create_key(session, "victim-help", [Scope.SUBMIT], "t").key
    pinned = {k["key_id"]: k["public_key"] for k in registry.keyring.published()}
    data_dir = tmp_path / "matcher"
    try:
        with serving(create_registry(registry=registry)) as url, httpx.Client(timeout=60) as http:
            submit = {"Authorization": f"Bearer {submitter}"}
            case = http.post(f"{url}/v1/cases", headers=submit).json()
            added = http.post(
                f"{url}/v1/cases/{case['case_number']}/items",
                headers={**submit, "X-Case-PIN": case["pin"]},
                json={"items": [{"media": "video", "signals": signals}]},
            )
            assert added.status_code == 201, added.text
            syncer = Syncer(data_dir, RegistrySource(url, consumer, pinned), [])
            try:
                syncer.sync_once()
            finally:
                syncer.close()
    finally:
        registry.db.dispose()
    return open_api(MatcherSettings(matcher_data_dir=data_dir), policy=BLOCK)


def upload(api: Api, path: Path) -> dict[str, Any]:
    answer = api.media(path.read_bytes(), "video/mp4")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_cropped_mirrored_and_turned_copies_match_a_robust_vpdq_item(
    tmp_path: Path, clips: dict[str, Path], open_api: OpenApi
) -> None:
    api = registered_api(tmp_path, clips, open_api, {VPDQ.name, VPDQ_ROBUST.name})
    for name in ("cropped", "mirrored+cropped", "turned"):
        answer = upload(api, clips[name])
        assert answer["decision"] == "block", name
        robust = [m for m in answer["matches"] if m["kind"] == VPDQ_ROBUST.name]
        assert len(robust) == 1 and robust[0]["bank"] == CASES, answer["matches"]
        assert robust[0]["distance"] <= VPDQ_ROBUST.default_threshold
        [segment] = robust[0]["segments"]
        assert segment["query_start"] <= 2.0 and segment["query_end"] >= LISTED_S - 2.0
    unrelated = upload(api, clips["unrelated"])
    assert (unrelated["decision"], unrelated["matches"]) == ("none", [])


def test_plain_vpdq_alone_misses_the_cropped_copies(
    tmp_path: Path, clips: dict[str, Path], open_api: OpenApi
) -> None:
    api = registered_api(tmp_path, clips, open_api, {VPDQ.name})
    assert upload(api, clips["listed"])["decision"] == "block"  # the list works for a copy
    for name in ("cropped", "mirrored+cropped", "turned", "unrelated"):
        answer = upload(api, clips[name])
        assert (answer["decision"], answer["matches"]) == ("none", []), name
