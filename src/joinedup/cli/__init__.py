"""The ``joinedup`` command: one Typer app, a module per command under ``joinedup.cli``.

Each command module exposes ``register(app)``; commands parse options, call one service and
render the result (Rich tables and progress bars), nothing more.
"""

from __future__ import annotations

import importlib
import os

import typer

from joinedup.cli._logging import configure_logging

app = typer.Typer(
    name="joinedup",
    help="joinedup: a shared care record, population health and care coordination for a place.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Command modules, in the order the help lists them. A module that is not written yet is
# registered as a placeholder that says so, so the shape of the tool is visible from the start.
COMMANDS = {
    "demo": "Generate a synthetic borough, ingest, link, stratify it and serve the app.",
    "synth": "Generate a synthetic health and care economy: feeds in real formats plus ground truth.",
    "ingest": "Ingest feed files or folders (FHIR R4, HL7 v2, CSV extracts, telehealth).",
    "listen": "Listen for live feeds (HL7 v2 over MLLP) and acknowledge after commit.",
    "link": "Link source records to persons (NHS number, then probabilistic) and evaluate it.",
    "warehouse": "Build the analytic warehouse (DuckDB or Spark) from the shared record.",
    "report": "Compute a population health measure by practice, neighbourhood or month.",
    "risk": "Train, evaluate and score the risk models (eFI, LACE, emergency admission).",
    "cohort": "List a practice's high-risk patients with reasons (direct care only).",
    "coordination": "Run the care coordination centre: set-up, ADT/telehealth outbox and escalation jobs, pathways.",
    "serve": "Serve the web application and the FHIR R4 API.",
    "users": "Manage users, roles, teams and assignments.",
    "audit": "Search and verify the audit trail; answer 'who has looked at my record'.",
    "extract": "Produce an approved, de-identified data extract for a data-sharing request.",
    "optouts": "Load national data opt-out cleaned lists for secondary uses.",
    "status": "Show what this joinedup home holds (use --json for scripts).",
    "run-daily": "The daily run for cron: new feed files in, linked, warehouse refreshed, risk rescored.",
    "workforce": "Plan the workforce from patients' needs and plan home visits.",
    "safety": "Clinical safety (DCB0129): check the hazard log and regenerate the safety case.",
}


def _placeholder(name: str, summary: str) -> None:
    def command() -> None:
        typer.echo(f"joinedup {name}: not available in this version yet.", err=True)
        raise typer.Exit(code=2)

    command.__doc__ = f"{summary} (not available in this version yet)"
    app.command(name=name)(command)


def _register_all() -> None:
    for name, summary in COMMANDS.items():
        module_name = f"joinedup.cli.{name.replace('-', '_')}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            _placeholder(name, summary)
            continue
        module.register(app)


_register_all()


def main() -> None:
    """Entry point of the ``joinedup`` script."""
    configure_logging(os.environ.get("JOINEDUP_LOG_FORMAT", "text"))
    app()
