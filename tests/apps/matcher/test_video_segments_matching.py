"""Video uploads through the matcher's API against a listed vPDQ recording: a mirrored copy and
a compilation holding an excerpt are decided like whole copies, with the stretches found, and an
unrelated clip matches nothing. Clips are small pans across smooth random pictures (benign)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter
from tests.apps.matcher.conftest import BANK, Api

from stopframe.apps.matcher.sources import PartnerSource
from stopframe.apps.matcher.sync import Syncer
from stopframe.config import MatcherSettings
from stopframe.hashing.files import hash_file
from stopframe.lists.formats.threatexchange import dump_csv
from stopframe.matching.policy import Policy
from stopframe.signals import VPDQ, Signal

av = pytest.importorskip("av")

OpenApi = Callable[..., Api]
SIZE = (240, 136)
FPS = 10
LISTED_S = 40.0  # the listed recording's length
TOLERANCE_S = 2.0
BLOCK = Policy.from_mapping({"banks": {BANK: {"action": "block"}}})

Frame = Callable[[float], Image.Image]


def pan(seed: int, seconds: float) -> Frame:
    """The frame at time t of a pan lasting `seconds` across a blurred random strip."""
    noise = np.random.default_rng(seed).integers(0, 256, (34, 180, 3), dtype=np.uint8)
    strip = Image.fromarray(noise).resize((720, 136), Image.Resampling.BICUBIC)
    strip = strip.filter(ImageFilter.GaussianBlur(3))

    def frame(t: float) -> Image.Image:
        left = round((strip.width - SIZE[0]) * min(max(t / seconds, 0.0), 1.0))
        return strip.crop((left, 0, left + SIZE[0], SIZE[1]))

    return frame


def write(path: Path, frames: list[Image.Image]) -> Path:
    """An H.264 MP4 of the frames at `FPS`."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.asarray(image), "rgb24")))
        container.mux(stream.encode(None))
    return path


def clip(source: Frame, start: float, seconds: float) -> list[Image.Image]:
    """`seconds` of `source` from `start`, as frames."""
    return [source(start + k / FPS) for k in range(round(seconds * FPS))]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The listed recording, a mirrored copy, a compilation with its 20 s from 8 s at 10 s,
    and an unrelated clip."""
    folder = tmp_path_factory.mktemp("clips")
    listed, filler, other = pan(1, LISTED_S), pan(2, 30.0), pan(3, 30.0)
    frames = clip(listed, 0.0, LISTED_S)
    mirrored = [image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for image in frames]
    compilation = [
        *clip(filler, 0.0, 10.0),
        *clip(listed, 8.0, 20.0),
        *clip(filler, 15.0, 10.0),
    ]
    return {
        "listed": write(folder / "listed.mp4", frames),
        "mirrored": write(folder / "mirrored.mp4", mirrored),
        "compilation": write(folder / "compilation.mp4", compilation),
        "unrelated": write(folder / "unrelated.mp4", clip(other, 0.0, 30.0)),
    }


def listed_api(tmp_path: Path, clips: dict[str, Path], open_api: OpenApi, policy: Policy) -> Api:
    """A matcher whose partner list (CSV) holds the listed recording's vPDQ as entry 1."""
    vpdq = hash_file(clips["listed"]).value(VPDQ.name)
    assert vpdq
    path = tmp_path / "partner.csv"
    path.write_bytes(dump_csv([Signal(VPDQ.name, vpdq)]))
    data_dir = tmp_path / "matcher"
    syncer = Syncer(data_dir, None, [PartnerSource(BANK, "threatexchange-csv", path)])
    try:
        syncer.sync_once()
    finally:
        syncer.close()
    return open_api(MatcherSettings(matcher_data_dir=data_dir), policy=policy)


@pytest.fixture
def api(tmp_path: Path, clips: dict[str, Path], open_api: OpenApi) -> Api:
    """`listed_api` with the partner bank set to block."""
    return listed_api(tmp_path, clips, open_api, BLOCK)


def upload(api: Api, path: Path) -> dict[str, Any]:
    answer = api.media(path.read_bytes(), "video/mp4")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_mirrored_copy_is_blocked(api: Api, clips: dict[str, Path]) -> None:
    answer = upload(api, clips["mirrored"])
    assert answer["decision"] == "block"
    [match] = answer["matches"]
    assert (match["entry_id"], match["kind"], match["action"]) == (1, "vpdq", "block")
    assert match["distance"] <= 20
    [segment] = match["segments"]
    assert segment["query_start"] <= TOLERANCE_S
    assert segment["query_end"] >= LISTED_S - TOLERANCE_S


def test_an_excerpt_inside_a_compilation_is_blocked_and_placed(
    api: Api, clips: dict[str, Path]
) -> None:
    answer = upload(api, clips["compilation"])
    assert answer["decision"] == "block"
    [match] = answer["matches"]
    assert (match["entry_id"], match["kind"]) == (1, "vpdq")
    [segment] = match["segments"]
    assert abs(segment["query_start"] - 10.0) <= TOLERANCE_S
    assert abs(segment["query_end"] - 30.0) <= TOLERANCE_S
    assert abs(segment["registered_start"] - 8.0) <= TOLERANCE_S
    assert abs(segment["registered_end"] - 28.0) <= TOLERANCE_S


def test_a_whole_copy_still_matches_and_an_unrelated_clip_does_not(
    api: Api, clips: dict[str, Path]
) -> None:
    copy = upload(api, clips["listed"])
    assert copy["decision"] == "block"
    [match] = copy["matches"]
    assert match["distance"] == 0
    assert [(s["query_start"], s["registered_start"]) for s in match["segments"]] == [(0.0, 0.0)]
    assert match["segments"][0]["query_end"] >= LISTED_S - TOLERANCE_S
    unrelated = upload(api, clips["unrelated"])
    assert (unrelated["decision"], unrelated["matches"]) == ("none", [])


@pytest.mark.parametrize(
    ("policy", "decision"),
    [({}, "review"), ({"banks": {BANK: {"allow": True}}}, "none")],
)
def test_the_bank_policy_decides_a_mirrored_copy(
    tmp_path: Path,
    clips: dict[str, Path],
    open_api: OpenApi,
    policy: dict[str, Any],
    decision: str,
) -> None:
    api = listed_api(tmp_path, clips, open_api, Policy.from_mapping(policy))
    answer = upload(api, clips["mirrored"])
    assert answer["decision"] == decision
    [match] = answer["matches"]  # partner banks review by default; an allow-list bank suppresses
    assert (match["entry_id"], match["allowed"]) == (1, decision == "none")
