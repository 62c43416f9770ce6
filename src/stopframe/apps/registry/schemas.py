"""Pydantic request and response bodies of the API (what the OpenAPI document describes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from stopframe.apps.registry.terms import ItemMedia, ReportedAction, Scope, SuggestedAction
from stopframe.errors import SignalValueError
from stopframe.signals import SIGNAL_TYPES, parse_signal_value

# The longest value any registered type takes (a vPDQ of over 4 hours at one frame per second)
MAX_VALUE_CHARS = max(t.max_value_chars for t in SIGNAL_TYPES.values())


def _registered_kind(name: str) -> str:
    """Accept the name of a type registered now (so types added at runtime need no schema
    change)."""
    return SIGNAL_TYPES[name].name  # UnknownSignalType is a ValueError: a validation error


def _no_nul(text: str) -> str:
    """Refuse NUL characters in free text that is stored (databases and logs mishandle them)."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


def _describe_kinds(schema: dict[str, Any]) -> None:
    """OpenAPI text for a kind: the types registered when the document is generated."""
    lines = (f"`{t.name}`: {t.description}" for t in SIGNAL_TYPES.values())
    schema["description"] = "A registered signal type. " + "; ".join(lines) + "."
    schema["examples"] = list(SIGNAL_TYPES)


def _at_most_every_kind(kinds: object) -> object:
    """Refuse a kind list longer than the number of registered types before checking each."""
    if isinstance(kinds, list) and len(kinds) > len(SIGNAL_TYPES):
        raise ValueError(f"at most {len(SIGNAL_TYPES)} kinds (one of each registered type)")
    return kinds


def _describe_kind_list(schema: dict[str, Any]) -> None:
    schema["maxItems"] = len(SIGNAL_TYPES)


def _describe_threshold(schema: dict[str, Any]) -> None:
    """OpenAPI text for a bank's threshold: each registered type's default and largest value."""
    scaled = [t for t in SIGNAL_TYPES.values() if t.max_threshold > 0]
    limits = "; ".join(
        f"`{t.name}` default {t.default_threshold}, at most {t.max_threshold}" for t in scaled
    )
    schema["description"] = (
        "Distance at or under which a consumer counts a match, for the bank's kinds that have a "
        "distance (exact digests match only when equal). It may not exceed the smallest maximum "
        "of the bank's kinds; left out, it is the largest default of the bank's kinds. "
        f"Registered: {limits}."
    )


SignalKindName = Annotated[
    str,
    Field(min_length=1, max_length=32, json_schema_extra=_describe_kinds),
    AfterValidator(_registered_kind),
]


class Strict(BaseModel):
    """Bodies refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class SignalIn(Strict):
    """One hash to register, validated by `stopframe.signals.parse_signal_value`."""

    kind: SignalKindName
    value: Annotated[str, Field(min_length=1, max_length=MAX_VALUE_CHARS)]
    quality: Annotated[int | None, Field(ge=0, le=100, strict=True)] = None  # never 50.5, "50"

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
    kind: str
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
    """What a case holder may see: its entries' counts and how often they were matched and acted
    on."""

    case_number: str
    entries_active: int
    entries_withdrawn: int
    matched: int
    acted_on: int


class ItemIn(Strict):
    """One file's hashes (at most one of each kind); the file itself never leaves the device."""

    media: ItemMedia
    signals: Annotated[list[SignalIn], Field(min_length=1, max_length=16)]

    @model_validator(mode="after")
    def _one_per_kind(self) -> ItemIn:
        kinds = [s.kind for s in self.signals]
        if len(set(kinds)) != len(kinds):
            raise ValueError("an item holds at most one signal of each kind")
        return self


class ItemsIn(Strict):
    """Files to add to a case as items; all are added or none (the registry's
    `max_items_per_request` bounds how many)."""

    items: Annotated[list[ItemIn], Field(min_length=1, max_length=1000)]


class ItemOut(BaseModel):
    """An item as its case holder sees it: kinds and counts, never the hash values."""

    id: int
    media: ItemMedia
    kinds: list[str]
    created_at: datetime
    withdrawn_at: datetime | None
    matched: int
    acted_on: int


class ItemsAdded(BaseModel):
    """Result of adding items: each in input order, and how many were new (or restored)."""

    added: int
    items: list[ItemOut]


class CaseItemsOut(BaseModel):
    """A case's items and totals; a report on an entry several items share counts once."""

    case_number: str
    items_active: int
    items_withdrawn: int
    matched: int
    acted_on: int
    items: list[ItemOut]


class ChallengeOut(BaseModel):
    """A proof-of-work challenge: find a nonce (1-32 of [0-9a-z]) such that SHA-256 of
    `challenge:nonce` starts with `difficulty` zero bits; use it within `expires_in` seconds."""

    challenge: str
    difficulty: int
    expires_in: int


class IntakeCaseIn(Strict):
    """A solved challenge, which opens one anonymous case."""

    challenge: Annotated[str, Field(min_length=1, max_length=200)]
    nonce: Annotated[str, Field(max_length=64)]  # 1-32 of [0-9a-z], else refused with 400


class BankIn(Strict):
    """A new bank and the defaults consumers apply to its matches."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    kinds: Annotated[
        list[SignalKindName],
        Field(min_length=1, json_schema_extra=_describe_kind_list),
        BeforeValidator(_at_most_every_kind),
    ]
    distance_threshold: Annotated[
        int | None, Field(ge=0, le=2**31 - 1, json_schema_extra=_describe_threshold)
    ] = None
    verified: bool = False
    action: SuggestedAction = SuggestedAction.REVIEW


class BankOut(BaseModel):
    """A bank's definition."""

    name: str
    kinds: list[str]
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

    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
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


class KeyedReportIn(ReportIn):
    """A report in a batch, with a key the consumer chose so that sending it again is harmless."""

    key: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ReportBatchIn(Strict):
    """Up to 1000 reports at once; each is stored once per key, however often it is sent."""

    reports: Annotated[list[KeyedReportIn], Field(min_length=1, max_length=1000)]


class ReportBatchOut(BaseModel):
    """What a batch did: reports stored, reports already stored (by key), entry ids not found."""

    accepted: int
    duplicates: int
    unknown: list[int]


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
