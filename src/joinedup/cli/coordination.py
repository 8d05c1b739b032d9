"""``joinedup coordination``: set up the care coordination centre, run its jobs, list its pathways."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.coordination import centre, shipped_library

coordination_app = typer.Typer(
    help="The care coordination centre: set-up, outbox and escalation jobs, pathway library.", no_args_is_help=True
)


@coordination_app.command("setup")
@friendly_errors
def setup(
    directory: Annotated[
        Path | None, typer.Option(help="A service directory YAML file (default: the shipped one).")
    ] = None,
) -> None:
    """Create the centre's and the discharge service's teams and load the service directory."""
    home = open_home()
    with home.sessions() as session:
        result = centre.set_up_centre(session, directory=directory)
    out.print(f"teams ready: {', '.join(result.teams)}; {result.services} services in the directory")


@coordination_app.command("run")
@friendly_errors
def run(
    every: Annotated[
        float | None, typer.Option(help="Keep running, every this many seconds (Ctrl-C stops).")
    ] = None,
) -> None:
    """Act on new ADT and telehealth news, then escalate overdue tasks (once, or every N seconds)."""
    home = open_home()
    while True:
        with home.sessions() as session:
            result = centre.run_centre_jobs(session)
        out.print(
            f"{result.outbox_events} outbox events read; {result.tasks_escalated} tasks escalated; "
            f"{result.steps_flagged} overdue steps flagged"
        )
        if every is None:
            return
        time.sleep(every)


@coordination_app.command("pathways")
@friendly_errors
def pathways() -> None:
    """List the pathway library: each pathway's latest version, steps and the guidance it follows."""
    table = Table(title="pathway library")
    for column in ("pathway", "version", "title", "steps", "sources"):
        table.add_column(column)
    for pathway in shipped_library().latest():
        table.add_row(
            pathway.pathway_id,
            str(pathway.version),
            pathway.title,
            str(len(pathway.steps)),
            ", ".join(source.reference for source in pathway.sources),
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``coordination`` command group."""
    app.add_typer(coordination_app, name="coordination")
