"""The package root's public API: every name in __all__ resolves, lazily, to the real object."""

from __future__ import annotations

import subprocess
import sys

import stopframe
from stopframe.hashing.files import hash_file
from stopframe.signals import SIGNAL_TYPES


def test_every_public_name_resolves() -> None:
    assert set(stopframe.__all__) == set(stopframe._EXPORTS)
    for name in stopframe.__all__:
        assert getattr(stopframe, name) is not None, name
    assert stopframe.hash_file is hash_file and stopframe.SIGNAL_TYPES is SIGNAL_TYPES


def test_importing_the_package_loads_no_heavy_part() -> None:
    code = (
        "import sys, stopframe; "
        "print(sorted(m for m in ('numpy', 'numba', 'httpx', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
