"""Commands that need an optional extra name the extra to install, in one line, when it is not
installed (simulated by blocking the import in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BLOCKED = """
import sys
sys.modules[{module!r}] = None  # what a missing package looks like to importers
from stopframe.cli import app
app(sys.argv[1:], prog_name="stopframe")
"""


@pytest.mark.parametrize(
    ("module", "command", "extra"),
    [
        ("fastapi", ["serve"], "registry"),
        ("sqlalchemy", ["registry", "migrate"], "registry"),
        ("alembic", ["registry", "backup", "copy.sqlite"], "registry"),
        ("fastapi", ["matcher", "serve"], "matcher"),
        ("prometheus_client", ["matcher", "serve"], "matcher"),
    ],
)
def test_missing_extra_is_one_line_naming_it(
    tmp_path: Path, module: str, command: list[str], extra: str
) -> None:
    args = [*command, "--data-dir", str(tmp_path / "data")]
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED.format(module=module), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"pip install 'stopframe[{extra}]'" in line and module in line
    assert not (tmp_path / "data").exists()  # stopped before touching anything
