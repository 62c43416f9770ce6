"""Hash algorithms ("signals"): one module per kind, all behind the small interface in `base`."""

from stopframe.signals.base import Signal, SignalKind, SignalValueError, parse_signal_value

__all__ = ["Signal", "SignalKind", "SignalValueError", "parse_signal_value"]
