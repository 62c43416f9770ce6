"""Hash algorithms ("signals"): one module per kind, each owning its `SignalType`, all registered
here in `SIGNAL_TYPES` (adding a kind is one module plus one line below)."""

from stopframe.errors import SignalValueError, UnknownSignalType
from stopframe.signals.base import (
    SIGNAL_TYPES,
    ContentType,
    IndexKind,
    Signal,
    SignalType,
    parse_signal_value,
)
from stopframe.signals.exact import MD5, SHA256
from stopframe.signals.pdq import PDQ
from stopframe.signals.pdq_robust import PDQ_ROBUST
from stopframe.signals.tmk import TMK
from stopframe.signals.vpdq import VPDQ
from stopframe.signals.vpdq_robust import VPDQ_ROBUST

for _type in (PDQ, PDQ_ROBUST, VPDQ, MD5, SHA256, TMK, VPDQ_ROBUST):
    SIGNAL_TYPES.register(_type)

__all__ = [
    "MD5",
    "PDQ",
    "PDQ_ROBUST",
    "SHA256",
    "SIGNAL_TYPES",
    "TMK",
    "VPDQ",
    "VPDQ_ROBUST",
    "ContentType",
    "IndexKind",
    "Signal",
    "SignalType",
    "SignalValueError",
    "UnknownSignalType",
    "parse_signal_value",
]
