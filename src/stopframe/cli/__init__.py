"""The `stopframe` command. Each sub-command lives in its own module here and stays thin:
parse arguments, call the library, format the output."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="stopframe",
    help="Hash media locally, keep and share hash lists, match uploads and triage collections.",
    no_args_is_help=True,
    add_completion=False,
)


def main() -> None:
    """Console-script entry point."""
    app()
from stopframe.cli import hashing  # noqa: E402,F401  (registers commands)
from stopframe.cli import video  # noqa: E402,F401  (registers commands)
from stopframe.cli import registry  # noqa: E402,F401  (registers commands)
from stopframe.cli import bench  # noqa: E402,F401  (registers commands)
