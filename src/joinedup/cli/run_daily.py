"""``joinedup run-daily``: the day's run for cron; every step recorded for the status page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.operations import run_daily


def register(app: typer.Typer) -> None:
    """Add the ``run-daily`` command."""

    @app.command("run-daily")
    @friendly_errors
    def run_daily_command(
        inbox: Annotated[Path, typer.Argument(help="Folder where feed files arrive (one sub-folder per source).")],
        attempts: Annotated[int, typer.Option(min=1, max=5, help="Tries per step before the run stops.")] = 2,
    ) -> None:
        """Pick up new feed files, ingest, link, act on events, refresh the warehouse and rescore risk.

        Files already taken in are skipped, so running it twice a day is harmless. Exits 1 when a
        step still failed after its retries (later steps are then skipped and recorded as such).
        """
        home = open_home()
        report = run_daily(home.settings, home.engine, inbox=inbox, attempts=attempts)
        table = Table(title=f"daily run {report.operation_run_id}")
        for column in ("step", "status", "attempts", "seconds", "counts / error"):
            table.add_column(column)
        for step in report.steps:
            detail = step.error or ", ".join(f"{key} {value}" for key, value in step.counts.items())
            table.add_row(step.step, step.status, str(step.attempts), f"{step.seconds:.1f}", detail)
        out.print(table)
        if not report.succeeded:
            raise typer.Exit(code=1)
