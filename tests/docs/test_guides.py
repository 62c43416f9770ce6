"""The documentation site builds with no warnings, its API reference matches the apps, and every
`stopframe` command in the guides is accepted by the real command-line parser, so a guide cannot
drift from the CLI."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from stopframe import cli

ROOT = Path(__file__).resolve().parents[2]
GUIDES = sorted((ROOT / "docs" / "guides").glob("*.md"))
FENCE = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
OPERATORS = {"|", "||", "&&", ";", "&"}
REDIRECTS = {">", ">>", "<", "2>", "2>>"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def shell_lines(text: str) -> list[str]:
    """The command lines of a markdown text's fenced bash blocks, continuations joined."""
    lines = []
    for block in FENCE.findall(text):
        joined = block.replace("\\\n", " ")
        lines += [line.strip() for line in joined.splitlines() if line.strip()]
    return lines


def stopframe_commands(line: str) -> list[list[str]]:
    """The argument lists of every `stopframe` command in one shell line (pipes, redirections
    and leading variable assignments understood)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands, current, tokens = [], [], list(lexer)
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
        elif token in OPERATORS:
            commands.append(current)
            current = []
        elif token in REDIRECTS:
            skip_next = True
        elif not current and ASSIGNMENT.match(token):
            continue
        else:
            current.append(token)
    commands.append(current)
    return [command[1:] for command in commands if command[:1] == ["stopframe"]]


def guide_commands() -> list[tuple[str, list[str]]]:
    """Every (guide, arguments) pair of the guides' `stopframe` commands."""
    found = []
    for guide in GUIDES:
        for line in shell_lines(guide.read_text(encoding="utf-8")):
            found += [(guide.name, args) for args in stopframe_commands(line)]
    return found


def parse(args: list[str]) -> None:
    """Parse `stopframe ARGS` with the real parser, without running it (typer.TyperException
    when it is refused)."""
    command = typer.main.get_command(cli.app)
    context = typer.Context(command, info_name="stopframe")
    rest = list(args)
    while isinstance(command, TyperGroup):
        assert rest, f"`stopframe {shlex.join(args)}` names no command"
        name, rest = rest[0], rest[1:]
        found = command.get_command(context, name)
        assert found is not None, f"`stopframe {shlex.join(args)}`: no command {name!r}"
        command = found
        context = typer.Context(command, info_name=name, parent=context)
    command.make_context(context.info_name, rest, parent=context.parent)


def test_every_guide_has_commands() -> None:
    """Each of the four role guides gives the reader commands to run."""
    names = {guide for guide, _ in guide_commands()}
    assert names == {"victim-and-ngo.md", "registry-operator.md", "platform.md", "investigator.md"}


@pytest.mark.parametrize(
    ("guide", "args"),
    guide_commands(),
    ids=lambda value: shlex.join(value) if isinstance(value, list) else value,
)
def test_guide_command_parses(guide: str, args: list[str]) -> None:
    """The command, as written in the guide, is accepted by the CLI's parser."""
    try:
        parse(args)
    except typer.TyperException as error:
        pytest.fail(f"{guide}: `stopframe {shlex.join(args)}` is refused: {error}")


def test_parser_refuses_a_wrong_option() -> None:
    """The check has teeth: an option the CLI does not have is refused."""
    with pytest.raises(typer.TyperException, match="no-such-option"):
        parse(["triage", "evidence", "--no-such-option"])


def test_reference_is_current(tmp_path: Path) -> None:
    """docs/reference is what scripts/openapi_docs.py makes from the apps today."""
    pytest.importorskip("fastapi", reason="the registry and matcher extras are not installed")
    spec = importlib.util.spec_from_file_location("openapi_docs", ROOT / "scripts/openapi_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path in module.write(tmp_path):
        committed = ROOT / "docs" / "reference" / path.name
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed} is stale: run bash scripts/docs.sh"
        )


def test_site_builds_without_warnings(tmp_path: Path) -> None:
    """`mkdocs build --strict` succeeds and prints no warning."""
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]' (scripts/docs.sh does)")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
