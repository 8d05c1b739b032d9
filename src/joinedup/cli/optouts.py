"""``joinedup optouts``: load national data opt-out cleaned lists; show who secondary uses may include."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.governance import load_cleaned_lists, secondary_use_person_ids
from joinedup.store.tables.base import utc_now


def register(app: typer.Typer) -> None:
    """Add the ``optouts`` command."""

    @app.command()
    @friendly_errors
    def optouts(
        folder: Annotated[
            Path, typer.Argument(help="A folder of cleaned-list-YYYY-MM-DD.csv (e.g. DIR/national-data-opt-out).")
        ],
        purpose: Annotated[
            str | None, typer.Option(help="Purpose the lists answer; default every opt-out purpose.")
        ] = None,
    ) -> None:
        """Load national data opt-out cleaned lists (the people checked and NOT opted out)."""
        if not folder.is_dir():
            raise typer.BadParameter(f"no such folder: {folder}")
        home = open_home()
        with home.sessions() as session:
            loads = load_cleaned_lists(session, folder, purpose)
            included = {
                load.purpose: len(secondary_use_person_ids(session, purpose=load.purpose, as_of=utc_now().date()))
                for load in loads
            }
            session.commit()
        table = Table(title="national data opt-out cleaned lists")
        for column in ("purpose", "list date", "NHS numbers", "rejected", "people usable today"):
            table.add_column(column)
        for load in loads:
            table.add_row(
                load.purpose,
                load.list_date.isoformat(),
                str(load.entry_count),
                str(load.rejected_count),
                str(included[load.purpose]),
            )
        out.print(table)
