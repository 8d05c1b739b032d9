"""``joinedup cohort --practice CODE --top N --as USERNAME``: a practice's high-risk list (direct care)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.governance.users import load_actor_by_username
from joinedup.risk import practice_cohort_report


def register(app: typer.Typer) -> None:
    """Add the ``cohort`` command."""

    @app.command()
    @friendly_errors
    def cohort(
        practice: Annotated[str, typer.Option("--practice", help="The practice's ODS code.")],
        as_user: Annotated[str, typer.Option("--as", help="Your username: the list is audited as read by you.")],
        top: Annotated[int, typer.Option("--top", min=1, help="How many people to list.")] = 50,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    ) -> None:
        """List a practice's highest-risk patients with score, band, reasons, what is in place and who is new.

        Identifiable: only users with a care relationship with the practice's patients see them.
        """
        home = open_home(quiet=as_json)
        with home.sessions() as session:
            actor = load_actor_by_username(session, as_user)
            result = practice_cohort_report(session, actor=actor, practice_code=practice, top=top)
        if as_json:
            out.print_json(json.dumps(asdict(result), default=str))
            return
        compared = result.compared_with.isoformat() if result.compared_with else "no run a week earlier"
        table = Table(title=f"Practice {practice}: top {top} as of {result.as_of_date} ({result.model_version})")
        columns = ("#", "person", "NHS number", "risk", "band", "eFI", "reasons", "in place", f"new since {compared}")
        for column in columns:
            table.add_column(column)
        for entry in result.entries:
            place = entry.in_place
            in_place = ", ".join(
                [*(f"pathway {p}" for p in place.pathways)]
                + (["care plan"] if place.care_plan else [])
                + (["coordinator"] if place.care_coordinator else [])
            ) or "nothing yet"
            table.add_row(
                str(entry.practice_rank), entry.name or entry.person_id, entry.nhs_number or "-",
                f"{100 * entry.score:.1f} %", entry.band,
                f"{entry.efi_category} ({entry.efi_count})", "; ".join(entry.reasons), in_place,
                "-" if entry.new_entrant is None else ("new" if entry.new_entrant else ""),
            )
        out.print(table)
        if result.withheld:
            out.print(f"[yellow]{result.withheld} people withheld: you have no care relationship with them[/yellow]")
