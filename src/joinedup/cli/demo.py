"""``joinedup demo``: the whole system end to end on the embedded default (SQLite + DuckDB)."""

from __future__ import annotations

import json
import shutil
from typing import Annotated

import typer

from joinedup.cli._context import console, friendly_errors, open_home, out
from joinedup.settings import load_settings
from joinedup.store import count_store


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command()
    @friendly_errors
    def demo(
        people: Annotated[int, typer.Option(help="People in the synthetic borough.")] = 20_000,
        fresh: Annotated[bool, typer.Option("--fresh", help="Delete the home and start over.")] = False,
        serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the app at the end.")] = True,
    ) -> None:
        """Run joinedup end to end on a synthetic borough: generate, ingest, link, stratify, serve.

        Re-running reuses what exists; --fresh starts over; --no-serve stops before serving.
        """
        settings = load_settings()
        if fresh and settings.home.exists():
            shutil.rmtree(settings.home)
        home = open_home()
        console.print(f"[bold]joinedup demo[/bold] in {home.settings.home.resolve()} ({people:,} people asked)")
        with home.sessions() as session:
            out.print_json(json.dumps(count_store(session), default=str))
        if serve:
            console.print("the web application is not part of this version yet; nothing to serve")
