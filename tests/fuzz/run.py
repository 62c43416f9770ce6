"""Run one fuzz harness under atheris (libFuzzer): `python -m tests.fuzz.run TARGET [CORPUS...]
[-max_total_time=SECONDS ...]`. Only stopframe's own code is instrumented."""

from __future__ import annotations

import sys

import atheris


def main() -> None:
    """Fuzz the target named by the first argument; the rest go to libFuzzer."""
    target, *rest = sys.argv[1:]
    with atheris.instrument_imports(include=["stopframe"]):
        from tests.fuzz.harness import harness

        module = harness(target)
    atheris.Setup([sys.argv[0], *rest], module.TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
