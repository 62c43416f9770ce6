"""What a running registry holds: settings, database, signing keyring, rate-limit buckets and
the intake's challenge book."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from stopframe.apps.registry.audit import load_key, use_key
from stopframe.apps.registry.challenges import ChallengeBook, load_secret
from stopframe.apps.registry.db import PRIVATE_FOLDER, Database, open_database
from stopframe.apps.registry.migrate import upgrade
from stopframe.apps.registry.pincache import PinCache
from stopframe.apps.registry.pinwork import PinWork
from stopframe.apps.registry.proxies import TrustedProxies
from stopframe.apps.registry.ratelimit import TokenBuckets
from stopframe.apps.registry.services.entries import CaseQuota
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
    pin_failure_limits: TokenBuckets = field(init=False)  # wrong PINs, per client address
    pin_key_failure_limits: TokenBuckets = field(init=False)  # wrong PINs, per API key
    pins: PinWork = field(init=False)  # scrypt for PINs, a bounded number at once
    intake_limits: TokenBuckets = field(init=False)  # anonymous cases, per client address
    challenges: ChallengeBook = field(init=False)
    proxies: TrustedProxies = field(init=False)  # whose X-Forwarded-For names the client

    def __post_init__(self) -> None:
        settings = self.settings
        self.key_limits = TokenBuckets(settings.key_rate, settings.key_burst)
        self.case_limits = TokenBuckets(settings.case_rate, settings.case_burst)
        self.pin_cache = PinCache(settings.pin_cache_seconds)
        self.pin_failure_limits = TokenBuckets(
            settings.pin_failure_rate, settings.pin_failure_burst
        )
        self.pin_key_failure_limits = TokenBuckets(
            settings.pin_key_failure_rate, settings.pin_key_failure_burst
        )
        self.pins = PinWork(
            settings.pin_scrypt_n, settings.pin_hash_workers, settings.pin_hash_wait_s
        )
        self.intake_limits = TokenBuckets(
            settings.intake_cases_per_hour / 3600, settings.intake_cases_per_hour
        )
        self.challenges = ChallengeBook(
            load_secret(settings.data_dir), settings.intake_challenge_seconds
        )
        self.proxies = TrustedProxies(settings.trusted_networks)

    @property
    def case_quota(self) -> CaseQuota:
        """What one case may hold, from the settings."""
        return CaseQuota(self.settings.max_case_entries, self.settings.max_case_value_chars)


def private_data_dir(path: Path) -> None:
    """Make the data folder (database, keys, secrets) or close an existing one of ours to
    everyone but its owner (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    status = path.stat()
    if status.st_uid == os.getuid() and status.st_mode & 0o077:
        path.chmod(PRIVATE_FOLDER)


def open_registry(settings: Settings, migrate: bool = True) -> Registry:
    """Open the database (migrating it to the newest schema), its audit key and the signing
    keyring; the data folder is made private first. DatabaseUnavailable when the database cannot
    be reached."""
    private_data_dir(settings.data_dir)
    db = open_database(settings.resolved_database_url)
    if migrate:
        upgrade(db.writer)
    use_key(db, load_key(settings.data_dir))
    keyring = load_keyring(settings.signing_dir, settings.signing_key)
    return Registry(settings, db, keyring)
