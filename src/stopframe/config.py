"""One settings object: every STOPFRAME_* knob of the library, a section per component.

Variable names stay flat: the field `max_pixels` of any section is `STOPFRAME_MAX_PIXELS` (no
section prefix), so the names users already set keep working. `load_settings()` reads the
environment once and raises `ConfigError` naming the variable whose value is not valid.

The registry service's section is here too, so every STOPFRAME_* variable is documented and
validated in one place; a section's fields must not share names with another section's.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
)
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


class BenchSettings(BaseModel):
    """The accuracy benchmarks: where the benign corpus and the hash cache live."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    corpus: Path = Path.home() / ".cache" / "stopframe" / "corpus"  # scripts/get-test-corpus.sh
    bench_cache: Path = Path.home() / ".cache" / "stopframe" / "bench"


class HashingSettings(BaseModel):
    """Batch hashing: the number of worker processes when none is asked for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jobs: PositiveInt = 1


def ip_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or CIDR networks ("127.0.0.1, 10.0.0.0/8, ::1")."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


class RegistrySettings(BaseModel):
    """The registry service: where its data lives, its address, request and rate limits."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    data_dir: Path = Field(
        Path("data"), description="Database file (SQLite), signing keys, outputs."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default a SQLite file in data_dir."
    )
    host: str = "127.0.0.1"
    port: int = Field(8750, ge=1, le=65535)
    signing_key: str | None = Field(
        None, description="Ed25519 private key (PEM) from the environment instead of the data dir."
    )
    max_body_bytes: PositiveInt = Field(
        1 << 20, description="Largest request body, except imports and case entries/items."
    )
    max_values_body_bytes: PositiveInt = Field(
        4 << 20,
        description="Largest body adding hashes to a case (entries, items): room for a vPDQ "
        "of over 4 hours at 1 fps (about 1.3 MB) and more.",
    )
    max_import_bytes: PositiveInt = Field(
        64 << 20, description="Largest bulk import file accepted."
    )
    max_import_entries: PositiveInt = Field(
        1_000_000, description="Most entries one import may hold."
    )
    body_idle_s: PositiveFloat = Field(
        10.0, description="Longest wait for the next chunk of a request body before a 408."
    )
    body_deadline_s: PositiveFloat = Field(
        60.0, description="Longest a request body may take to arrive in all (imports excepted)."
    )
    import_body_deadline_s: PositiveFloat = Field(
        600.0, description="Longest an import's body may take to arrive in all."
    )
    feed_page_size: PositiveInt = Field(10_000, description="Most changes in one change-feed page.")
    list_max_age_s: PositiveInt = Field(
        7 * 24 * 3600,
        description="How long a signed list page may be believed after it is issued; consumers "
        "refuse it once expired (bounds replay of an old page).",
    )
    snapshot_cache_bytes: NonNegativeInt = Field(
        256 << 20,
        description="Memory for signed snapshot pages kept to answer repeated pulls of the same "
        "page at the same sequence (least recently used go first); 0 turns the cache off.",
    )
    key_rate: PositiveFloat = Field(50.0, description="Requests per second per API key (refill).")
    key_burst: PositiveInt = Field(200, description="Token bucket size per API key.")
    case_rate: PositiveFloat = Field(
        2.0, description="Requests per second per case (bounds PIN guessing)."
    )
    case_burst: PositiveInt = Field(30, description="Token bucket size per case.")
    pin_scrypt_n: PositiveInt = Field(
        1 << 15, description="scrypt cost N for case PINs (power of two)."
    )
    pin_cache_seconds: float = Field(
        600.0, ge=0, description="How long a verified PIN is remembered."
    )
    case_bank: str = Field("self-reported", description="Bank that case submissions go to.")
    pin_failure_rate: PositiveFloat = Field(
        20 / 3600, description="Wrong PINs per second per client address (refill)."
    )
    pin_failure_burst: PositiveInt = Field(
        20, description="Wrong PINs a client address may send before it must wait."
    )
    max_items_per_request: PositiveInt = Field(
        100, description="Most items (files) one request may add to a case."
    )
    intake_open: bool = Field(
        True, description="Anyone may open a case with a proof of work, without an API key."
    )
    intake_pow_bits: int = Field(
        18, ge=0, le=32, description="Leading zero bits the intake proof of work must reach."
    )
    intake_challenge_seconds: PositiveInt = Field(
        300, description="How long an intake challenge may be solved and used."
    )
    intake_cases_per_hour: PositiveInt = Field(
        10, description="Anonymous cases one client address may open per hour."
    )
    trusted_proxies: str = Field(
        "",
        description="Reverse proxies (addresses or CIDR networks, comma-separated) whose "
        "X-Forwarded-For names the client that per-address limits count.",
    )
    pin_key_failure_rate: PositiveFloat = Field(
        120 / 3600, description="Wrong PINs per second per API key (refill)."
    )
    pin_key_failure_burst: PositiveInt = Field(
        60, description="Wrong PINs an API key may send before it must wait."
    )
    pin_hash_workers: PositiveInt = Field(
        2, description="Most PIN hashes (scrypt) computed at once; the rest wait their turn."
    )
    pin_hash_wait_s: float = Field(
        5.0, ge=0, description="How long a PIN check waits for a turn before a 503 answer."
    )
    max_case_entries: PositiveInt = Field(
        5_000,
        description="Most active entries one case may hold (a real case's files, with room).",
    )
    max_case_value_chars: PositiveInt = Field(
        256 << 20,
        description="Most characters of hash values one case's active entries may hold "
        "(about eight 4-hour recordings with their vPDQ variants).",
    )
    docs_ui: bool = Field(
        False, description="Serve the Swagger UI at /v1/docs (it loads scripts from a CDN)."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        ip_networks(value)  # a part that is no address or network fails at start, named
        return value

    @property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """`trusted_proxies` as networks (a bare address is a network of one)."""
        return ip_networks(self.trusted_proxies)

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the configured one, or a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'registry.sqlite').resolve()}"

    @property
    def signing_dir(self) -> Path:
        """Folder holding the Ed25519 private keys (files mode 0600)."""
        return self.data_dir / "signing"


class MatcherSettings(BaseModel):
    """The platform matcher service: its data, address, workers, list sources and actions."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    matcher_data_dir: Path = Field(
        Path("matcher-data"), description="List stores, index generations, keys, outboxes."
    )
    matcher_host: str = "127.0.0.1"
    matcher_port: int = Field(8760, ge=1, le=65535)
    matcher_workers: PositiveInt = Field(1, description="API worker processes.")
    registry_url: str | None = Field(None, description="Registry to sync signed lists from.")
    registry_key: str | None = Field(None, description="API key for the registry (read, report).")
    trust_file: Path | None = Field(
        None, description="JSON {key_id: base64 public key} of the registry's signing keys."
    )
    matcher_sources: str | None = Field(
        None, description="Partner list sources, `BANK=FORMAT:PATH` separated by semicolons."
    )
    policy_file: Path | None = Field(None, description="Local bank policy (JSON).")
    webhooks_file: Path | None = Field(None, description="Webhooks (JSON list of url, secret).")
    sync_wait_s: float = Field(
        20.0, ge=0, le=30, description="Long-poll wait on the registry's change feed."
    )
    sync_interval_s: PositiveFloat = Field(
        5.0, description="Pause between syncs of partner files, and after a quiet long-poll."
    )
    stale_after_s: PositiveFloat = Field(
        900.0, description="Age of the last good sync after which /readyz reports stale lists."
    )
    flood_limit: PositiveInt = Field(
        50, description="Distinct uploads an entry may block within the window before quarantine."
    )
    flood_window_s: PositiveFloat = Field(3600.0, description="The flood quarantine window.")
    max_batch_hashes: PositiveInt = Field(10_000, description="Most signals in one match request.")
    matcher_shard: str = Field(
        "0/1",
        pattern=r"^\d+/[1-9]\d*$",
        description="k/K: index only entries whose id is k modulo K (one shard of K machines).",
    )
    matcher_docs_ui: bool = Field(
        False, description="Serve the Swagger UI at /v1/docs (it loads scripts from a CDN)."
    )

    @property
    def shard(self) -> tuple[int, int]:
        """The shard as (k, K)."""
        index, count = self.matcher_shard.split("/")
        return int(index), int(count)


_SECTIONS: dict[str, type[BaseModel]] = {
    "media": MediaSettings,
    "video": VideoSettings,
    "hashing": HashingSettings,
    "registry": RegistrySettings,
    "matcher": MatcherSettings,
    "bench": BenchSettings,
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
    registry: RegistrySettings = RegistrySettings()
    matcher: MatcherSettings = MatcherSettings()
    bench: BenchSettings = BenchSettings()

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
