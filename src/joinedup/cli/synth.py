"""``joinedup synth``: generate a synthetic borough's feeds and ground truth."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import console, friendly_errors, out
from joinedup.synth import generate_economy


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command."""

    @app.command()
    @friendly_errors
    def synth(
        output: Annotated[Path, typer.Option("--out", help="Folder to write (one sub-folder per source + truth/).")],
        people: Annotated[int, typer.Option("--people", help="Residents at the start.")] = 20_000,
        years: Annotated[int, typer.Option("--years", help="Years of activity.")] = 5,
        seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 42,
        faults: Annotated[float, typer.Option("--faults", help="Share of records given an injected fault.")] = 0.02,
        start: Annotated[
            str | None, typer.Option("--start", help="First day, YYYY-MM-DD (default 2021-04-01).")
        ] = None,
        workers: Annotated[
            int, typer.Option("--workers", help="Processes in parallel (0: one per core, up to 4); same output.")
        ] = 0,
    ) -> None:
        """Generate a synthetic health and care economy: feeds in real formats plus ground truth.

        Writes GP FHIR R4, PAS HL7 v2 ADT, SUS-like CSVs, community and social care CSVs, telehealth
        JSON lines, the national data opt-out list, reference files and truth/ (never ingested).
        """
        workers = workers or min(4, os.cpu_count() or 1)
        try:
            first_day = date.fromisoformat(start) if start else None
        except ValueError as exc:
            raise typer.BadParameter("use YYYY-MM-DD", param_hint="--start") from exc
        with console.status(f"Generating {people:,} people over {years} years…"):
            summary = generate_economy(
                output, people=people, years=years, seed=seed, faults=faults, start=first_day, workers=workers
            )
        table = Table(title=f"Synthetic borough: {summary.persons_total:,} persons, {summary.record_count:,} records")
        table.add_column("measure", no_wrap=True)
        table.add_column("unit")
        table.add_column("target", justify="right")
        table.add_column("produced", justify="right")
        table.add_column("ok", justify="center")
        for row in summary.rates:
            table.add_row(row.measure, row.unit, f"{row.target:,.1f}", f"{row.produced:,.1f}",
                          "[green]✓[/green]" if row.within_tolerance else "[yellow]~[/yellow]")
        out.print(table)
        out.print(
            f"{len(summary.files):,} files, {summary.injected_faults:,} injected faults "
            f"(rate {summary.fault_rate:g}); {summary.start_date} to {summary.end_date}; written to {summary.out}"
        )
