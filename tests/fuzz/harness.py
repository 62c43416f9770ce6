"""What every fuzz harness shares: the targets by name and the one rule for their outcomes.

A harness module has `TestOneInput(data: bytes)`. It calls its target and lets only the
project's typed errors (`StopframeError` subclasses) pass; any other exception escapes and is a
finding. Limits are kept small so that each input is quick.
"""

from __future__ import annotations

import importlib
from types import ModuleType

TARGETS = (
    "image",
    "video",
    "signals",
    "threatexchange_csv",
    "threatexchange_text",
    "stopncii",
    "ncmec",
    "projectvic",
)


def harness(target: str) -> ModuleType:
    """The harness module of `target` (one of `TARGETS`)."""
    if target not in TARGETS:
        raise ValueError(f"unknown fuzz target {target!r}; use one of {', '.join(TARGETS)}")
    return importlib.import_module(f"tests.fuzz.fuzz_{target}")
