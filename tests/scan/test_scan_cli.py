"""`scan_command` through Typer: a scan, its resume, a usage error, and a missing extra named
in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from stopframe.cli.scan import scan_command
from stopframe.scan import read_rows

app = typer.Typer()
app.command()(scan_command)


def test_scan_then_resume_from_a_path_list(tmp_path: Path, corpus: list[Path], store: Path) -> None:
    listed = tmp_path / "paths.txt"
    listed.write_text("".join(f"{p}\n" for p in corpus[:30]))
    args = ["--from-file", str(listed), "--out", str(tmp_path / "out"), "--store", str(store)]
    first = CliRunner().invoke(app, [*args, "--shard-files", "10", "-j", "2"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["ran"] == 3
    assert read_rows(tmp_path / "out").num_rows == 30
    again = CliRunner().invoke(app, [*args, "--shard-files", "10"])
    assert (again.exit_code, json.loads(again.output)["resumed"]) == (0, 3)


def test_nothing_to_scan_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--out", str(tmp_path / "out")])
    assert result.exit_code == 2


BLOCKED = """
import sys
sys.modules[{module!r}] = None  # what a missing package looks like to importers
import typer
from stopframe.cli.scan import scan_command
app = typer.Typer()
app.command()(scan_command)
app(sys.argv[1:], prog_name="stopframe scan")
"""


@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [("pyarrow", [], "scan"), ("ray", ["--ray", "auto"], "ray")],
)
def test_a_missing_extra_is_one_line_naming_it(
    tmp_path: Path, module: str, args: list[str], extra: str
) -> None:
    command = [sys.executable, "-c", BLOCKED.format(module=module), ".", "--out", "out", *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"pip install 'stopframe[{extra}]'" in line and module in line
    assert not (tmp_path / "out").exists()
