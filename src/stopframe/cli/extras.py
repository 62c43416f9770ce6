"""Optional extras: a command that needs one which is not installed says which to install."""

from __future__ import annotations

import importlib.util

import typer

EXIT_MISSING_EXTRA = 2
_MODULES = {
    "registry": ("fastapi", "uvicorn", "sqlalchemy", "alembic", "cryptography"),
    "matcher": ("fastapi", "uvicorn", "prometheus_client", "cryptography"),
    "gpu": ("torch",),
}


def missing_module(extra: str) -> str | None:
    """The first module of `extra` that cannot be imported here, or None when all can."""
    for name in _MODULES[extra]:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):  # a broken or half-removed installation
            return name
    return None


def require_extra(extra: str, command: str) -> None:
    """Stop `command` with one line naming the extra to install when `extra` is missing."""
    missing = missing_module(extra)
    if missing is not None:
        typer.echo(
            f"error: `{command}` needs the {extra} extra ({missing} is not installed): "
            f"pip install 'stopframe[{extra}]'",
            err=True,
        )
        raise typer.Exit(EXIT_MISSING_EXTRA)
