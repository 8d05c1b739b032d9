"""``joinedup link``: link source records to persons, evaluate against truth, or link any table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.errors import InvalidInput
from joinedup.identity.model import Thresholds
from joinedup.identity.service import run_linkage
from joinedup.identity.table import link_table, parse_columns


def _thresholds(upper: float | None, lower: float | None) -> Thresholds | None:
    if upper is None and lower is None:
        return None
    defaults = Thresholds()
    chosen_upper = defaults.upper if upper is None else upper
    return Thresholds(upper=chosen_upper, lower=min(chosen_upper, defaults.lower) if lower is None else lower)


def _render(title: str, figures: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    for key, value in figures.items():
        if isinstance(value, dict):
            for inner, item in value.items():
                table.add_row(f"{key}.{inner}", f"{item:.4f}" if isinstance(item, float) else str(item))
        else:
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``link`` command."""

    @app.command()
    @friendly_errors
    def link(
        evaluate: Annotated[
            Path | None, typer.Option("--evaluate", help="Ground truth (a synth truth/ folder or source_records.csv).")
        ] = None,
        table: Annotated[Path | None, typer.Option("--table", help="Link this CSV/Parquet file instead.")] = None,
        columns: Annotated[
            str | None,
            typer.Option(
                "--columns", help="Map fields to the table's columns: first_name=..,surname=..,dob=..,sex=..,"
                "postcode=..,nhs_number=.."
            ),
        ] = None,
        label: Annotated[
            str | None, typer.Option("--label", help="True-cluster column: report precision/recall.")
        ] = None,
        out_file: Annotated[
            Path | None, typer.Option("--out", help="Write the linked table here (CSV/Parquet).")
        ] = None,
        retrain: Annotated[bool, typer.Option("--retrain", help="Retrain the match weights first.")] = False,
        upper: Annotated[float | None, typer.Option("--upper", help="Match weight that links automatically.")] = None,
        lower: Annotated[
            float | None, typer.Option("--lower", help="Match weight below which pairs are ignored.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    ) -> None:
        """Link source records to persons: valid NHS number first, then Splink's probabilistic model.

        Re-running links only what is new (person ids stay stable). Pairs between the thresholds go
        to the review queue. With --table, links any table of person records and writes it back
        with cluster_id, match_weight and match_evidence.
        """
        thresholds = _thresholds(upper, lower)
        if table is not None:
            if columns is None:
                raise InvalidInput("--table needs --columns (e.g. first_name=given,surname=family,dob=born)")
            result = link_table(table, parse_columns(columns), label=label, thresholds=thresholds, out=out_file)
            figures = result.as_dict()
            if out_file is not None:
                figures["written_to"] = str(out_file)
        else:
            home = open_home(quiet=as_json)
            with home.sessions() as session:
                report = run_linkage(session, home.settings, retrain=retrain, thresholds=thresholds, truth=evaluate)
                session.commit()
            figures = report.as_dict()
        if as_json:
            out.print_json(json.dumps(figures, default=str))
        else:
            _render("joinedup link", figures)
