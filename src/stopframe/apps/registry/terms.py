"""The registry's own words, shared by its services, its API bodies and its command line: what an
API key may do, what a bank suggests, what a consumer reports it did, and what an item is."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """What an API key may do."""

    SUBMIT = "submit"  # create cases and act for them (the intake front end)
    READ = "read"  # pull lists and bank definitions (platforms)
    REPORT = "report"  # report matches (platforms)
    ADMIN = "admin"  # manage banks, imports, keys


class SuggestedAction(StrEnum):
    """What a bank suggests a consumer does with a match."""

    BLOCK = "block"
    REVIEW = "review"
    LOG = "log"


class ReportedAction(StrEnum):
    """What a consumer says it did with a match; block and review count as acted on."""

    BLOCK = "block"
    REVIEW = "review"
    LOG = "log"
    NONE = "none"


class ItemMedia(StrEnum):
    """What kind of file a case holder's item came from."""

    PHOTO = "photo"
    VIDEO = "video"
    OTHER = "other"
