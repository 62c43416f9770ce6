"""Limits come from the one settings object: flat STOPFRAME_* names, bad values named."""

from __future__ import annotations

import pytest

from stopframe.config import load_settings
from stopframe.errors import ConfigError
from stopframe.media.limits import MediaLimits, VideoLimits


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STOPFRAME_MAX_PIXELS", "STOPFRAME_MAX_VIDEO_BYTES", "STOPFRAME_JOBS"):
        monkeypatch.delenv(name, raising=False)
    assert MediaLimits.from_env() == MediaLimits()
    assert VideoLimits.from_env() == VideoLimits()
    assert load_settings().hashing.jobs == 1


def test_flat_variables_fill_each_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOPFRAME_MAX_SIDE", "4_096")
    monkeypatch.setenv("STOPFRAME_MAX_VIDEO_FRAMES", "500")
    monkeypatch.setenv("STOPFRAME_VIDEO_TIME_BUDGET_S", "2.5")
    monkeypatch.setenv("STOPFRAME_JOBS", " 2 ")
    monkeypatch.setenv("STOPFRAME_MAX_PIXELS", "")  # empty means unset
    settings = load_settings()
    assert settings.media.max_side == 4096
    assert settings.media.max_pixels == MediaLimits().max_pixels
    assert settings.video.max_video_frames == 500
    assert settings.hashing.jobs == 2
    limits = VideoLimits.from_settings(settings)
    assert (limits.max_frames, limits.time_budget_s, limits.max_side) == (500, 2.5, 4096)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STOPFRAME_MAX_PIXELS", "lots"),
        ("STOPFRAME_MAX_VIDEO_SECONDS", "-1"),
        ("STOPFRAME_JOBS", "0"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_the_registry_reads_its_section_from_the_same_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOPFRAME_PORT", "9100")
    monkeypatch.setenv("STOPFRAME_MAX_PIXELS", "1000")
    settings = load_settings()
    assert settings.registry.port == 9100 and settings.media.max_pixels == 1000
    monkeypatch.setenv("STOPFRAME_PORT", "0")
    with pytest.raises(ConfigError, match="STOPFRAME_PORT"):
        load_settings()


def test_no_two_sections_read_the_same_variable() -> None:
    names = [
        name
        for section in ("media", "video", "hashing", "registry")
        for name in type(getattr(load_settings(), section)).model_fields
    ]
    assert len(names) == len(set(names))
