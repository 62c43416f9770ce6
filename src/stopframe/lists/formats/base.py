"""What every partner format shares: the parsed result, the export result, and `ListFormat`,
which refuses (or, when asked, reports) every signal a format cannot carry instead of dropping
it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from stopframe.errors import FormatError, SignalValueError
from stopframe.signals import SIGNAL_TYPES, Signal, SignalType


@dataclass
class ParsedList:
    """Signals read from a partner file, how many records carried only unsupported hashes, and
    the category the file gives a signal (by its position in `signals`), where it gives one."""

    signals: list[Signal] = field(default_factory=list)
    skipped: int = 0
    categories: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Record:
    """One file's signals, written together as one record where the format has records;
    `media` is photo, video or other, or None for a lone entry of unknown media."""

    media: str | None
    signals: tuple[Signal, ...]


def as_records(items: Sequence[Signal | Record]) -> list[Record]:
    """`items` as records: a bare signal is a record of its own."""
    return [i if isinstance(i, Record) else Record(None, (i,)) for i in items]


def flatten(records: Sequence[Signal | Record]) -> list[Signal]:
    """Every signal of `records` once, in order, for formats with one signal per line."""
    return list(dict.fromkeys(s for r in as_records(records) for s in r.signals))


@dataclass(frozen=True)
class Exported:
    """A written partner file and, by kind, how many signals it left out (empty unless partial)."""

    data: bytes
    left_out: dict[str, int]


@dataclass(frozen=True)
class ListFormat:
    """One partner format: how to read it, write it (`write` refuses kinds it cannot carry),
    and which signal types it can carry."""

    name: str
    media_type: str
    parse: Callable[[bytes], ParsedList]
    write: Callable[[Sequence[Signal | Record]], bytes]
    carries: Callable[[SignalType], bool]

    def dump(self, items: Sequence[Signal | Record], partial: bool = False) -> Exported:
        """Write `items` (a file's signals as one record, a bare signal on its own); a kind this
        format cannot carry is refused, or left out and counted when `partial` is set, never
        dropped silently."""
        records = as_records(items)
        signals = [s for r in records for s in r.signals]
        left_out = Counter(s.kind for s in signals if not self.carries(SIGNAL_TYPES[s.kind]))
        if left_out and not partial:
            kinds = ", ".join(sorted(left_out))
            raise FormatError(
                f"{self.name} cannot carry {kinds} signals "
                f"({sum(left_out.values())} of {len(signals)}); "
                "export a partial file or use another format"
            )
        kept = [
            Record(r.media, tuple(s for s in r.signals if s.kind not in left_out)) for r in records
        ]
        written = self.write([r for r in kept if r.signals])
        return Exported(written, dict(sorted(left_out.items())))


def every_type(_signal_type: SignalType) -> bool:
    """`carries` of a format whose records hold any value: it carries every registered type."""
    return True


def name_in(vocabulary: Sequence[str], signal_type: SignalType) -> str | None:
    """The first name of `vocabulary` (a format's own type names) that means `signal_type`."""
    for word in vocabulary:
        if SIGNAL_TYPES.resolve(word) is signal_type:
            return word
    return None


def signal_at(
    where: str, signal_type: SignalType, value: str, quality: int | None = None
) -> Signal:
    """Validate one value from a file, naming the record at fault when it is bad."""
    try:
        return signal_type.parse(value, quality)
    except SignalValueError as exc:
        raise FormatError(f"{where}: {exc}") from None


def load_json(data: bytes) -> object:
    """Parse a JSON partner file, or raise FormatError saying why it is not JSON."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"not JSON: {exc}") from None
    except RecursionError:
        raise FormatError("not JSON this service reads: nested too deeply") from None
