"""``joinedup status``: what the home holds, for people and for monitoring scripts."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.store import count_store


def register(app: typer.Typer) -> None:
    """Add the ``status`` command."""

    @app.command()
    @friendly_errors
    def status(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts and monitoring.")] = False,
    ) -> None:
        """Show what this joinedup home holds: people, practices, records by source, quarantine.

        Reads JOINEDUP_HOME (default ./joinedup-data); an empty home gives zeros, not an error.
        """
        home = open_home(quiet=as_json)
        with home.sessions() as session:
            report: dict[str, Any] = {"home": str(home.settings.home.resolve())}
            report.update(count_store(session))
        if as_json:
            out.print_json(json.dumps(report, default=str))
            return
        table = Table(title="joinedup status", show_header=False)
        for key, value in report.items():
            table.add_row(key, json.dumps(value, default=str) if isinstance(value, dict | list) else str(value))
        out.print(table)
