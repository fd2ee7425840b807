"""`coupler serve`: the web app (pages and the JSON API under /api) on http://HOST:PORT.

Bound to 127.0.0.1 by default. Binding to any other address refuses to start (exit 2) unless COUPLER_WEB_TOKEN holds
an access token: the browser asks for it once (then a session cookie), API clients send ``Authorization: Bearer``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from coupler.domain.errors import CouplerError
from coupler.entrypoints.cli.shell import ConfigOption, Exit, app, err, fail

__all__ = ["serve_command"]


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="The address to listen on (127.0.0.1: this machine only).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="The port to listen on.")] = 8000,
    config: ConfigOption = None,
) -> None:
    """Serve the web app: the coupling pages in a browser and the JSON REST API under /api."""
    from coupler.config import load_config
    from coupler.entrypoints.web.security import TOKEN_ENV, Guard  # the web stack loads only for this command

    token = os.environ.get(TOKEN_ENV) or None
    try:
        Guard(host=host, token=token)  # refuses beyond loopback without a token
        settings = load_config(config)  # a missing or broken file stops here; unreachable systems only show a banner
    except CouplerError as error:
        fail(error, 2, as_json=False)
    import uvicorn

    from coupler.adapters.logs import configure_logging, secrets_in
    from coupler.entrypoints.web.app import create_app

    secrets = secrets_in(settings.local, settings.integration, urls=[settings.state_url])
    if settings.hooks is not None:  # the webhooks' shared secret is masked too
        secrets.append(settings.hooks.secret.get_secret_value())
    configure_logging(secrets=[*secrets, *([token] if token else [])])  # JSON lines unless on a terminal

    web_app = create_app(Path(config) if config else None, token=token, host=host)
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    err.print(f"coupler serves {where} (Ctrl-C stops)" + (" - log in with the access token" if token else ""))
    try:
        uvicorn.run(web_app, host=host, port=port, log_level="warning", log_config=None, server_header=False)
    except (OSError, SystemExit) as error:  # the port is taken, or uvicorn gave up starting
        err.print(f"[red]error:[/red] cannot serve on {where}: {error}")
        raise Exit(1) from None
