"""The settings as every command reads them: once, with a bad STOPFRAME_* value a usage error."""

from __future__ import annotations

import typer

from stopframe.config import Settings, load_settings
from stopframe.errors import ConfigError


def command_settings() -> Settings:
    """The settings from the environment; a bad value exits with the usage code, naming it."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
