"""One settings object: every STOPFRAME_* knob of the library, a section per component.

Variable names stay flat: the field `max_pixels` of any section is `STOPFRAME_MAX_PIXELS` (no
section prefix), so the names users already set keep working. `load_settings()` reads the
environment once and raises `ConfigError` naming the variable whose value is not valid.

The registry service keeps its own settings class (`stopframe.apps.registry.settings`, same flat
STOPFRAME_* names). This module sits below every other layer and never imports it: the service
puts its section in `Settings.registry` itself, `settings.model_copy(update={"registry": ...})`,
so hashing never needs (or validates) the service's variables.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, PositiveFloat, PositiveInt, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from stopframe.errors import ConfigError

ENV_PREFIX = "STOPFRAME_"


class MediaSettings(BaseModel):
    """Image decoding limits, checked on the header before any pixel is decoded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_file_bytes: PositiveInt = 256 * 1024 * 1024
    max_pixels: PositiveInt = 200_000_000  # a 16k x 12k scan fits; a 30k x 30k bomb does not
    max_side: PositiveInt = 32_768


class VideoSettings(BaseModel):
    """Video decoding limits; frames also obey the media section's pixel and side limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_video_bytes: PositiveInt = 8 * 1024**3
    max_frame_pixels: PositiveInt = 8192 * 8192  # per frame, width * height
    max_video_frames: PositiveInt = 2_000_000  # decoded frames; beyond it the result is partial
    max_video_seconds: PositiveFloat = 6 * 3600.0  # of decoded video; beyond it, partial
    video_time_budget_s: PositiveFloat | None = None  # wall-clock decode budget; beyond, partial


class HashingSettings(BaseModel):
    """Batch hashing: the number of worker processes when none is asked for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jobs: PositiveInt = 1


_SECTIONS: dict[str, type[BaseModel]] = {
    "media": MediaSettings,
    "video": VideoSettings,
    "hashing": HashingSettings,
}


class _FlatEnvironment(PydanticBaseSettingsSource):
    """Each section field's `STOPFRAME_<FIELD>` variable, from one read of the environment."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every section at once

    def __call__(self) -> dict[str, Any]:
        environ = dict(os.environ)
        values: dict[str, Any] = {}
        for section, model in _SECTIONS.items():
            found = {
                name: text
                for name in model.model_fields
                if (text := environ.get(env_name(name), "").strip())
            }
            if found:
                values[section] = found
        return values


class Settings(BaseSettings):
    """Every setting of the library, by component; build it with `load_settings()`."""

    model_config = SettingsConfigDict(frozen=True)

    media: MediaSettings = MediaSettings()
    video: VideoSettings = VideoSettings()
    hashing: HashingSettings = HashingSettings()
    registry: BaseSettings | None = None  # the registry service's section, set by the service

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Values passed in win, then the flat STOPFRAME_* variables; no other source."""
        return init_settings, _FlatEnvironment(settings_cls)


def env_name(field: str) -> str:
    """The environment variable of a section field: `max_pixels` -> `STOPFRAME_MAX_PIXELS`."""
    return ENV_PREFIX + field.upper()


def load_settings() -> Settings:
    """The settings from the environment (read once), defaults for variables not set."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = env_name(str(error["loc"][-1]))
        raise ConfigError(f"{name}: {error['msg']}, got {error['input']!r}") from None
