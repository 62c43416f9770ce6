"""Registry configuration, read from `STOPFRAME_*` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the registry; each field is also the env var `STOPFRAME_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="STOPFRAME_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Database file (SQLite) and signing keys live here.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite file in data_dir.")
    host: str = "127.0.0.1"
    port: int = 8750
    signing_key: str | None = Field(
        None, description="Ed25519 private key (PEM) from the environment instead of the data dir."
    )
    max_body_bytes: int = Field(1 << 20, description="Largest request body accepted, except imports.")
    max_import_bytes: int = Field(64 << 20, description="Largest bulk import file accepted.")
    max_import_entries: int = Field(1_000_000, description="Most entries one import may hold.")
    feed_page_size: int = Field(10_000, description="Most changes in one change-feed response.")
    key_rate: float = Field(50.0, description="Requests per second per API key (token bucket refill).")
    key_burst: int = Field(200, description="Token bucket size per API key.")
    case_rate: float = Field(2.0, description="Requests per second per case (also bounds PIN guessing).")
    case_burst: int = Field(30, description="Token bucket size per case.")
    pin_scrypt_n: int = Field(1 << 15, description="scrypt cost N for case PINs (power of two).")
    pin_cache_seconds: float = Field(600.0, description="How long a verified PIN is remembered in-process.")
    case_bank: str = Field("self-reported", description="Bank that case submissions go to.")

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
