"""``joinedup risk train|report|score``: the 12-month emergency admission model and the stored scores."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from joinedup.cli._context import console, friendly_errors, open_home, out
from joinedup.risk import load_report, open_risk_warehouse, score_population, train_risk_model

risk_app = typer.Typer(
    name="risk",
    help="Train, evaluate and score the risk models (eFI, LACE, emergency admission).",
    no_args_is_help=True,
)


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f} %"


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"


def _render_report(report: dict[str, Any]) -> None:
    model = report["model"]
    out.print(
        f"[bold]{report['model_version']}[/bold]: trained at {report['train_index_date']}, "
        f"validated at {report['validation_index_date']} on {report['validation']['people']} people "
        f"({report['validation']['events']} with an emergency admission in the next 12 months)"
    )
    table = Table(title="Validation (temporal): model and baselines")
    for column in ("score", "AUROC (95 % CI)", "AUPRC", "PPV top 0.5 %", "PPV top 1 %", "PPV top 5 %", "sens. top 5 %",
                   "cal. slope"):
        table.add_column(column)
    for row in [model, *report["baselines"]]:
        auroc = row["auroc"]
        tops = {t["fraction"]: t for t in row["top"]}
        table.add_row(
            row["name"],
            f"{_num(auroc['value'])} ({_num(auroc['lower'])}-{_num(auroc['upper'])})",
            _num(row["auprc"]),
            _pct(tops[0.005]["ppv"]), _pct(tops[0.01]["ppv"]), _pct(tops[0.05]["ppv"]),
            _pct(tops[0.05]["sensitivity"]),
            _num(row["calibration"]["slope"]) if row.get("calibration") else "-",
        )
    out.print(table)
    for name, met in report["targets"].items():
        out.print(f"{'[green]met[/green]' if met else '[red]NOT met[/red]'}  {name.replace('_', ' ')}")
    for flag in report["fairness_flags"]:
        out.print(f"[yellow]subgroup[/yellow] {flag['dimension']}={flag['group']}: {'; '.join(flag['departures'])}")
    out.print(f"[dim]{report['published_comparators_note']}[/dim]")
    out.print(f"[dim]plots: {report['plots']['note']}[/dim]")


def register(app: typer.Typer) -> None:
    """Add the ``risk`` command group."""
    app.add_typer(risk_app, name="risk")


@risk_app.command("train")
@friendly_errors
def train(
    train_index: Annotated[
        str | None, typer.Option(help="Training index date YYYY-MM-DD (default: two years before the data ends).")
    ] = None,
    validate_index: Annotated[
        str | None, typer.Option(help="Validation index date YYYY-MM-DD (default: one year before the data ends).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same data and seed give the same model).")] = 20161,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Train the 12-month emergency admission model on the warehouse, validate it on a later date, store it."""
    home = open_home(quiet=as_json)
    with open_risk_warehouse(home.settings) as con:
        result = train_risk_model(
            con, models_dir=home.settings.home / "models", train_index=_date(train_index),
            validate_index=_date(validate_index), seed=seed,
        )
    if as_json:
        out.print_json(json.dumps(result.report, default=str))
        return
    _render_report(result.report)
    console.print(f"model and card stored in {result.folder} ({result.seconds} s)")


@risk_app.command("report")
@friendly_errors
def report(
    version: Annotated[str | None, typer.Option(help="Model version (default: the latest trained).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (TRIPOD+AI-style report) for scripts.")] = False,
) -> None:
    """Show a trained model's validation report: discrimination, calibration, PPV, fairness, baselines."""
    home = open_home(quiet=as_json)
    stored = load_report(home.settings.home / "models", version)
    if as_json:
        out.print_json(json.dumps(stored, default=str))
        return
    _render_report(stored)


@risk_app.command("score")
@friendly_errors
def score(
    as_of: Annotated[
        str | None, typer.Option(help="Score as of YYYY-MM-DD (default: the day after the last activity).")
    ] = None,
    version: Annotated[str | None, typer.Option(help="Model version (default: the latest trained).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
) -> None:
    """Rescore everyone in the warehouse and store the scores with the model version and date."""
    home = open_home(quiet=as_json)
    with open_risk_warehouse(home.settings) as con, home.sessions() as session:
        summary = score_population(
            session, con, models_dir=home.settings.home / "models", as_of=_date(as_of), model_version=version
        )
    if as_json:
        out.print_json(json.dumps(asdict(summary), default=str))
        return
    out.print(
        f"scored {summary.people} people as of {summary.as_of_date} with {summary.model_version} "
        f"in {summary.seconds} s: " + ", ".join(f"{band} {n}" for band, n in sorted(summary.by_band.items()))
    )
