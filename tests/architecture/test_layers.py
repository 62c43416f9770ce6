"""The import-linter contracts catch a layer importing a later one: a copy of the package with
one deliberate backward import breaks the layer contract and names the import."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = shutil.which("lint-imports", path=str(ROOT / ".venv" / "bin")) or shutil.which(
    "lint-imports"
)


def _lint(package_parent: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip


@pytest.mark.skipif(LINT is None, reason="import-linter not installed (the 'dev' extra)")
def test_a_backward_import_breaks_the_layer_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src" / "stopframe", tmp_path / "stopframe")
    intact = _lint(tmp_path)
    assert intact.returncode == 0, intact.stdout[-2000:]
    bad = tmp_path / "stopframe" / "signals" / "pdq.py"
    bad.write_text(bad.read_text() + "\nfrom stopframe.lists import canonical  # noqa: E402\n")
    broken = _lint(tmp_path)
    assert broken.returncode != 0
    assert "Layers follow the data flow" in broken.stdout and "BROKEN" in broken.stdout
    assert "stopframe.signals.pdq -> stopframe.lists.canonical" in broken.stdout
