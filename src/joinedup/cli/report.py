"""``joinedup report MEASURE --by practice``: a population health measure, disclosure-controlled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal, cast

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.reporting import MEASURES, export_measure, measure_document, report_measure


def register(app: typer.Typer) -> None:
    """Add the ``report`` command."""

    @app.command()
    @friendly_errors
    def report(
        measure: Annotated[str, typer.Argument(help=f"One of: {', '.join(sorted(MEASURES))}.")],
        by: Annotated[str, typer.Option("--by", help="practice, neighbourhood or month.")] = "practice",
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
        export: Annotated[Path | None, typer.Option("--export", help="Write CSV or Parquet (by extension).")] = None,
    ) -> None:
        """Compute a measure by practice, neighbourhood or month; small numbers are suppressed."""
        home = open_home(quiet=as_json)
        dimension = cast(Literal["practice", "neighbourhood", "month"], by)
        result = report_measure(home.settings, measure=measure, by=dimension)
        if export is not None:
            export_measure(result, export, "parquet" if export.suffix == ".parquet" else "csv")
        document = measure_document(result)
        if as_json:
            out.print_json(json.dumps(document, default=str))
            return
        table = Table(title=f"{result.measure.description} ({result.measure.unit}) by {by}")
        for column in (by, "numerator", "denominator", "value"):
            table.add_column(column, justify="left" if column == by else "right")
        for row in document["rows"]:
            cells = ("area", "numerator", "denominator", "value")
            table.add_row(*(("*" if row[key] is None else str(row[key])) for key in cells))
        out.print(table)
        if "spc" in document:
            out.print(f"SPC: variation {document['spc']['variation']}, assurance {document['spc']['assurance']}")
