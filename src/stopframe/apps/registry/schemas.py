"""Pydantic request and response bodies of the API (what the OpenAPI document describes)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stopframe.signals.base import SignalKind, SignalValueError, parse_signal_value

MAX_VALUE_CHARS = 400_000  # a vPDQ of about 80 minutes at one frame per second


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


class Strict(BaseModel):
    """Bodies refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class SignalIn(Strict):
    """One hash to register, validated by `stopframe.signals.parse_signal_value`."""

    kind: SignalKind
    value: Annotated[str, Field(min_length=1, max_length=MAX_VALUE_CHARS)]
    quality: Annotated[int | None, Field(ge=0, le=100)] = None

    @model_validator(mode="after")
    def _canonical(self) -> SignalIn:
        try:
            signal = parse_signal_value(self.kind, self.value, self.quality)
        except SignalValueError as exc:
            raise ValueError(str(exc)) from None
        self.value = signal.value
        return self


class SubmitIn(Strict):
    """A batch of hashes for a case; all are added or none."""

    signals: Annotated[list[SignalIn], Field(min_length=1, max_length=1000)]


class EntryOut(BaseModel):
    """One entry as a case holder or an operator sees it."""

    id: int
    bank: str
    kind: SignalKind
    value: str
    quality: int | None
    created_at: datetime
    withdrawn_at: datetime | None


class SubmitOut(BaseModel):
    """Result of a submission: every entry, and how many were new (duplicates are idempotent)."""

    added: int
    entries: list[EntryOut]


class CaseCreated(BaseModel):
    """Shown once at creation: keep the number and the PIN, the registry cannot show them again."""

    case_number: str
    pin: str


class CaseSummary(BaseModel):
    """What a case holder may see: its entries' counts and how often they were matched and acted on."""

    case_number: str
    entries_active: int
    entries_withdrawn: int
    matched: int
    acted_on: int


class BankIn(Strict):
    """A new bank and the defaults consumers apply to its matches."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    kinds: Annotated[list[SignalKind], Field(min_length=1, max_length=4)]
    distance_threshold: Annotated[int, Field(ge=0, le=128)] = 31
    verified: bool = False
    action: SuggestedAction = SuggestedAction.REVIEW


class BankOut(BaseModel):
    """A bank's definition."""

    name: str
    kinds: list[SignalKind]
    distance_threshold: int
    verified: bool
    action: SuggestedAction
    entries_active: int


class ImportOut(BaseModel):
    """Result of a bulk import."""

    bank: str
    format: str
    read: int
    added: int
    skipped: int


class ApiKeyIn(Strict):
    """A new API key: a label for the operator and its scopes."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=4)]


class ApiKeyOut(BaseModel):
    """An API key's public facts (never the key)."""

    key_id: str
    name: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    """Shown once at creation or rotation: the key itself."""

    key: str


class ReportIn(Strict):
    """A consumer's report of a match: which entry, what it did, when. Never media."""

    entry_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    action: ReportedAction
    matched_at: datetime


class ReportOut(BaseModel):
    """The stored report's id."""

    id: int


class Envelope(BaseModel):
    """A signed list document: the payload and an Ed25519 signature over its canonical JSON."""

    payload: dict[str, Any]
    signature: str


class PublicKey(BaseModel):
    """One list-signing public key."""

    key_id: str
    algorithm: str
    public_key: str
    current: bool


class Health(BaseModel):
    """Liveness and schema state."""

    status: str
