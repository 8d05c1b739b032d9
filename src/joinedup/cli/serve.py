"""``joinedup serve``: the web application and the FHIR R4 API, on uvicorn."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn

from joinedup.cli._context import Home, console, friendly_errors, open_home
from joinedup.operations.background import start_live_jobs


def run_server(home: Home, *, host: str, port: int, live_jobs_every: float = 2.0) -> None:
    """Serve the app for ``home`` until interrupted, with the centre's live jobs running beside it."""
    from joinedup.web import create_app  # the web layer loads only when serving

    web_app = create_app(home.settings, sessions=home.sessions)
    logging.getLogger("joinedup.web.access").setLevel(logging.INFO)
    # The access log goes to the root handler configured by the CLI (text or JSON lines).
    stop_jobs = start_live_jobs(home.sessions, every_seconds=live_jobs_every) if live_jobs_every > 0 else None
    console.print(f"joinedup is serving on http://{host}:{port}/ (Ctrl+C to stop)")
    try:
        # uvicorn's own access log prints full URLs, query strings included: ours replaces it.
        uvicorn.run(web_app, host=host, port=port, access_log=False, server_header=False)
    finally:
        if stop_jobs is not None:
            stop_jobs()


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command."""

    @app.command()
    @friendly_errors
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        live_jobs_every: Annotated[
            float, typer.Option(help="Seconds between passes of the centre's live jobs (ADT → board); 0 = off.")
        ] = 2.0,
    ) -> None:
        """Serve the web application, the JSON API and the FHIR R4 API (/fhir/metadata).

        Put a TLS-terminating proxy in front of it: the session cookie is Secure and HSTS is sent.
        The access log names each route's template, never the URL (no query strings). Every few
        seconds the centre's jobs run beside it, so hospital events reach the board quickly.
        """
        run_server(open_home(), host=host, port=port, live_jobs_every=live_jobs_every)
