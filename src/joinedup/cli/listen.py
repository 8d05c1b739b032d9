"""``joinedup listen mllp``: a live HL7 v2 listener that ACKs only after the message is committed."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from joinedup.cli._context import console, friendly_errors, open_home
from joinedup.feeds import serve_mllp


def register(app: typer.Typer) -> None:
    """Add the ``listen`` command."""

    @app.command()
    @friendly_errors
    def listen(
        transport: Annotated[str, typer.Argument(help="The transport: mllp.")] = "mllp",
        port: Annotated[int, typer.Option(help="TCP port.")] = 2575,
        host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 for every interface).")] = "127.0.0.1",
        source: Annotated[str, typer.Option(help="Feed source the messages come from.")] = "hospital-pas",
    ) -> None:
        """Listen for HL7 v2 over MLLP; each message is committed, then ACKed (AA, or AE/AR with ERR)."""
        if transport != "mllp":
            raise typer.BadParameter("only mllp is supported")
        home = open_home()
        logging.getLogger("joinedup.feeds").setLevel(logging.INFO)

        def ready(bound: int) -> None:
            console.print(f"listening for MLLP on {host}:{bound} (source {source}); Ctrl-C to stop")

        try:
            asyncio.run(serve_mllp(home.sessions, host=host, port=port, source=source, on_ready=ready))
        except KeyboardInterrupt:
            console.print("stopped")
