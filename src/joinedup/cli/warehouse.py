"""``joinedup warehouse build``: build or refresh the analytic warehouse from the shared record."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import console, friendly_errors, open_home, out
from joinedup.warehouse import build_warehouse

warehouse_app = typer.Typer(help="Build the analytic warehouse (DuckDB or Spark) from the shared record.")


def register(app: typer.Typer) -> None:
    """Add the ``warehouse`` command group."""
    app.add_typer(warehouse_app, name="warehouse")


@warehouse_app.command("build")
@friendly_errors
def build(
    engine: Annotated[str, typer.Option("--engine", help="duckdb (default) or spark.")] = "duckdb",
    full: Annotated[bool, typer.Option("--full", help="Rebuild everything, not only what changed.")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Reporting date YYYY-MM-DD (default: latest activity).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the build report as JSON.")] = False,
) -> None:
    """Build the core layer and every mart; after the first build only changed persons are re-read."""
    home = open_home(quiet=as_json)
    reporting_date = date.fromisoformat(as_of) if as_of else None
    with console.status(f"building the warehouse on {engine}..."):
        report = build_warehouse(home.sessions, home.settings, engine, full=full, as_of=reporting_date)
    if as_json:
        out.print_json(json.dumps(asdict(report), default=str))
        return
    table = Table(title=f"warehouse {report.mode} build on {report.engine} ({report.seconds:.1f} s)")
    table.add_column("item")
    table.add_column("value", justify="right")
    table.add_row("reporting date", str(report.as_of))
    table.add_row("persons refreshed", str(report.changed_person_count))
    table.add_row("persons in secondary-use marts", str(report.secondary_use_person_count))
    table.add_row("persons excluded by opt-outs", str(report.opted_out_person_count))
    for name, rows in report.table_rows.items():
        table.add_row(name, f"{rows:,}")
    for step, seconds in report.step_seconds.items():
        table.add_row(f"time: {step}", f"{seconds:.1f} s")
    out.print(table)
