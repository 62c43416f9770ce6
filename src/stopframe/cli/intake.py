"""`stopframe intake --registry URL`: the victim's page on this machine, its requests forwarded
to the registry, so a person (or an NGO helper) can use the page without the registry serving it.

Exit codes: 0 stopped normally, 2 bad arguments.
"""

from __future__ import annotations

from typing import Annotated

import typer

from stopframe.apps.intake.site import DEFAULT_EXIT_URL


def intake_command(
    registry: Annotated[
        str,
        typer.Option(
            "--registry",
            envvar="STOPFRAME_REGISTRY_URL",
            help="Registry address, http(s)://host:port",
        ),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8765,
    exit_url: Annotated[
        str, typer.Option("--exit-url", help="Where the quick-exit button leaves to")
    ] = DEFAULT_EXIT_URL,
) -> None:
    """Serve the victim's page locally; only its own API calls are forwarded to the registry."""
    import uvicorn

    from stopframe.apps.intake.proxy import proxy_app

    try:
        app = proxy_app(registry, exit_url=exit_url)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"the page is at http://{host}:{port}/ (press Ctrl+C to stop)", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
