"""What a running registry holds: settings, database, signing keyring and rate-limit buckets."""

from __future__ import annotations

from dataclasses import dataclass, field

from stopframe.apps.registry.db import Database, open_database
from stopframe.apps.registry.migrate import upgrade
from stopframe.apps.registry.pincache import PinCache
from stopframe.apps.registry.ratelimit import TokenBuckets
from stopframe.apps.registry.services.feed import SNAPSHOT_PAGE_SIZE
from stopframe.config import RegistrySettings as Settings
from stopframe.lists.signing import Keyring, load_keyring


@dataclass
class Registry:
    """The registry's long-lived objects, shared by every request of one process."""

    settings: Settings
    db: Database
    keyring: Keyring
    snapshot_page_size: int = SNAPSHOT_PAGE_SIZE  # entries per snapshot page unless asked fewer
    key_limits: TokenBuckets = field(init=False)
    case_limits: TokenBuckets = field(init=False)
    pin_cache: PinCache = field(init=False)

    def __post_init__(self) -> None:
        self.key_limits = TokenBuckets(self.settings.key_rate, self.settings.key_burst)
        self.case_limits = TokenBuckets(self.settings.case_rate, self.settings.case_burst)
        self.pin_cache = PinCache(self.settings.pin_cache_seconds)


def open_registry(settings: Settings, migrate: bool = True) -> Registry:
    """Open the database (migrating it to the newest schema) and the signing keyring."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url)
    if migrate:
        upgrade(db.writer)
    keyring = load_keyring(settings.signing_dir, settings.signing_key)
    return Registry(settings, db, keyring)
