"""Signal types: everything about one kind of hash lives on its `SignalType`, and `SIGNAL_TYPES`
is the one registry of them.

Every later layer (hashing records, index, lists and their formats, services, CLI) asks the
registry instead of naming kinds itself, so adding a kind is one module plus one line in
`stopframe.signals`. A value from outside is validated once, by its type's `parse`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from stopframe.errors import SignalValueError, UnknownSignalType


class ContentType(StrEnum):
    """What a signal type is computed from."""

    PHOTO = "photo"
    VIDEO = "video"


class IndexKind(StrEnum):
    """How a list of values of one type is searched."""

    HAMMING = "hamming"  # 256-bit codes in a HammingIndex, range search at the type's threshold
    HAMMING_SET = "hamming_set"  # several 256-bit codes per value, each indexed under the entry
    FRAMES = "frames"  # per-frame 256-bit codes of a video, matched by shares of frames
    EXACT = "exact"  # equality of the canonical value
    TMK = "tmk"  # whole-video TMK features: level-1 cosine over every entry, level 2 on the rest


@dataclass(frozen=True, slots=True)
class Signal:
    """One hash of one piece of media: its type's name, canonical value text, and quality.

    `quality` is 0-100 for perceptual types (how much structure the media has) and None for
    exact digests. Build signals from outside input with `parse_signal_value`, which validates.
    """

    kind: str
    value: str
    quality: int | None = None

    @property
    def type(self) -> SignalType:
        """The registered type of this signal."""
        return SIGNAL_TYPES[self.kind]


class SignalType(ABC):
    """The facts and behaviour of one kind of hash; subclasses set the class variables."""

    name: ClassVar[str]  # as written in files, APIs and the database
    contents: ClassVar[tuple[ContentType, ...]]  # what it is computed from
    description: ClassVar[str]
    index_kind: ClassVar[IndexKind]
    has_quality: ClassVar[bool] = False  # whether values carry a 0-100 quality score
    quality_floor: ClassVar[int] = 0  # values of lower quality are never matched
    default_threshold: ClassVar[int] = 0  # two values match at or under this distance
    max_threshold: ClassVar[int] = 0  # the largest threshold a bank may set
    single_line: ClassVar[bool] = True  # whether a value fits on one line of text
    aliases: ClassVar[tuple[str, ...]] = ()  # other names exchanges use (ThreatExchange, HMA)
    max_value_chars: ClassVar[int] = 65_536  # longer text is refused before it is parsed

    @abstractmethod
    def canonical(self, value: str) -> str:
        """The canonical text of `value`, or SignalValueError saying what is wrong with it."""

    @abstractmethod
    def distance(self, a: str, b: str) -> int:
        """Distance between two canonical values (0 = the same)."""

    def parse(self, value: object, quality: object = None) -> Signal:
        """Validate a value (and quality) arriving from outside; return the canonical signal."""
        if not isinstance(value, str):
            raise SignalValueError(f"{self.name} value must be text")
        if len(value) > self.max_value_chars:
            raise SignalValueError(
                f"{self.name} value is {len(value)} characters, over the limit of "
                f"{self.max_value_chars}"
            )
        return Signal(self.name, self.canonical(value), self.check_quality(quality))

    def check_quality(self, quality: object) -> int | None:
        """A valid quality score for this type: 0-100 if it has one, absent otherwise."""
        if quality is None:
            return None
        if not self.has_quality:
            raise SignalValueError(f"{self.name} has no quality; leave it out")
        if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
            raise SignalValueError(f"quality must be an integer from 0 to 100, got {quality!r}")
        return quality

    def usable(self, signal: Signal) -> bool:
        """Whether a signal is good enough to match (quality at or above the floor)."""
        return signal.quality is None or signal.quality >= self.quality_floor

    def matches(self, a: str, b: str, threshold: int | None = None) -> bool:
        """Whether two canonical values match at `threshold` (default: the type's own)."""
        limit = self.default_threshold if threshold is None else threshold
        return self.distance(a, b) <= limit

    def __repr__(self) -> str:
        return f"<SignalType {self.name}>"


_HEX = re.compile(r"[0-9a-f]*")


def canonical_hex(name: str, value: str, length: int) -> str:
    """`value` as lowercase hex of exactly `length` characters, else SignalValueError."""
    text = value.strip().lower()
    if len(text) != length:
        raise SignalValueError(f"{name} must be {length} hex characters, got {len(text)}")
    if not _HEX.fullmatch(text):
        raise SignalValueError(f"{name} must contain only hex digits 0-9a-f")
    return text


class DigestType(SignalType):
    """An exact digest of the file bytes, written as fixed-length lowercase hex."""

    index_kind = IndexKind.EXACT
    hex_chars: ClassVar[int]

    def canonical(self, value: str) -> str:
        return canonical_hex(self.name, value, self.hex_chars)

    def distance(self, a: str, b: str) -> int:
        return 0 if a == b else 1


class SignalTypes(Mapping[str, SignalType]):
    """The registry of signal types, by name, in registration order."""

    def __init__(self) -> None:
        self._types: dict[str, SignalType] = {}

    def register(self, signal_type: SignalType) -> SignalType:
        """Add a type; its name and aliases must be new."""
        for name in (signal_type.name, *signal_type.aliases):
            if self.resolve(name) is not None:
                raise ValueError(f"signal type name {name!r} is already registered")
        self._types[signal_type.name] = signal_type
        return signal_type

    def unregister(self, name: str) -> None:
        """Remove a type (tests and plug-ins that registered one for a while)."""
        del self._types[name]

    @contextmanager
    def registered(self, signal_type: SignalType) -> Iterator[SignalType]:
        """Register `signal_type` for the duration of a `with` block."""
        self.register(signal_type)
        try:
            yield signal_type
        finally:
            self.unregister(signal_type.name)

    def __getitem__(self, name: str) -> SignalType:
        try:
            return self._types[name]
        except (KeyError, TypeError):
            known = ", ".join(self._types)
            raise UnknownSignalType(
                f"unknown signal type {name!r}; expected one of {known}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._types))

    def __len__(self) -> int:
        return len(self._types)

    def resolve(self, name: str) -> SignalType | None:
        """The type called `name` or having it as an alias (any case), or None."""
        key = name.strip().lower()
        for signal_type in self._types.values():
            if key == signal_type.name or key in signal_type.aliases:
                return signal_type
        return None

    def of_content(self, content: ContentType) -> list[SignalType]:
        """The registered types computed from `content`."""
        return [t for t in self._types.values() if content in t.contents]

    def bank_default_threshold(self, kinds: Iterable[str]) -> int:
        """The one distance threshold a bank of `kinds` states when its operator set none: the
        largest default among kinds with a distance scale, at most the smallest maximum (0 for
        exact digests only). A bank stating it means "each kind at its own default"."""
        scaled = [self[k] for k in kinds if self[k].max_threshold > 0]
        bound = min((t.max_threshold for t in scaled), default=0)
        return min(bound, max((t.default_threshold for t in scaled), default=0))

    def parse(self, kind: str, value: object, quality: object = None) -> Signal:
        """Validate a signal arriving from outside (file, API, import); return it canonical."""
        if not isinstance(kind, str):
            raise UnknownSignalType(f"signal type must be a name, got {kind!r}")
        return self[kind].parse(value, quality)


SIGNAL_TYPES = SignalTypes()


def parse_signal_value(kind: str, value: object, quality: object = None) -> Signal:
    """Validate a signal arriving from outside (file, API, import) and return it canonical."""
    return SIGNAL_TYPES.parse(kind, value, quality)
