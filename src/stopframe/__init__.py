"""stopframe: find known abuse recordings by perceptual hash, without ever sharing media.

Data flow: media (safe decoding) -> signals (one SignalType per kind of hash) -> hashing (files
to records) -> index (exact Hamming search) -> lists (signed lists, store, partner formats) ->
matching -> apps (registry, matcher, intake) -> triage. The names below are the public API;
each is imported on first use, so `import stopframe` stays cheap and optional parts (the list
client needs the `lists` extra) cost nothing until asked for.

    import stopframe
    record = stopframe.hash_file("photo.jpg", stopframe.HashOptions(robust=True))
    print(record.value("pdq"), [s.kind for s in record.signals])
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    # errors
    "StopframeError": "stopframe.errors",
    "MediaError": "stopframe.errors",
    "SignalValueError": "stopframe.errors",
    "IndexFileError": "stopframe.errors",
    "ListError": "stopframe.errors",
    "TamperedListError": "stopframe.errors",
    "ServiceError": "stopframe.errors",
    # settings
    "Settings": "stopframe.config",
    "load_settings": "stopframe.config",
    # signals
    "SIGNAL_TYPES": "stopframe.signals",
    "Signal": "stopframe.signals",
    "SignalType": "stopframe.signals",
    "parse_signal_value": "stopframe.signals",
    # hashing
    "HashOptions": "stopframe.hashing.files",
    "HashRecord": "stopframe.hashing.files",
    "hash_file": "stopframe.hashing.files",
    "hash_paths": "stopframe.hashing.batch",
    "hash_video": "stopframe.signals.vpdq",
    # index
    "HammingIndex": "stopframe.index",
    # lists
    "RegistryClient": "stopframe.lists.client",
    "ListStore": "stopframe.lists.store",
    # matching
    "match_vpdq": "stopframe.matching.video",
}
__all__ = [
    "SIGNAL_TYPES",
    "HammingIndex",
    "HashOptions",
    "HashRecord",
    "IndexFileError",
    "ListError",
    "ListStore",
    "MediaError",
    "RegistryClient",
    "ServiceError",
    "Settings",
    "Signal",
    "SignalType",
    "SignalValueError",
    "StopframeError",
    "TamperedListError",
    "hash_file",
    "hash_paths",
    "hash_video",
    "load_settings",
    "match_vpdq",
    "parse_signal_value",
]

if TYPE_CHECKING:
    from stopframe.config import Settings, load_settings
    from stopframe.errors import (
        IndexFileError,
        ListError,
        MediaError,
        ServiceError,
        SignalValueError,
        StopframeError,
        TamperedListError,
    )
    from stopframe.hashing.batch import hash_paths
    from stopframe.hashing.files import HashOptions, HashRecord, hash_file
    from stopframe.index import HammingIndex
    from stopframe.lists.client import RegistryClient
    from stopframe.lists.store import ListStore
    from stopframe.matching.video import match_vpdq
    from stopframe.signals import SIGNAL_TYPES, Signal, SignalType, parse_signal_value
    from stopframe.signals.vpdq import hash_video


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stopframe' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
