"""``joinedup extract``: produce an approved data request's de-identified extract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.governance.extracts import produce_extract
from joinedup.governance.users import load_actor_by_username
from joinedup.model import system_actor


def register(app: typer.Typer) -> None:
    """Add the ``extract`` command."""

    @app.command()
    @friendly_errors
    def extract(
        request: Annotated[int, typer.Option("--request", help="The approved data request's id.")],
        out_dir: Annotated[Path, typer.Option("--out", help="Folder to write request-<ID>/ into.")],
        as_user: Annotated[
            str | None, typer.Option("--as", help="Username producing it (IG officer or board member), for the audit.")
        ] = None,
    ) -> None:
        """Produce the de-identified extract of an approved data request.

        Pseudonymised (keyed HMAC), direct identifiers removed, dates coarsened as the agreement says,
        opt-outs applied, aggregates under disclosure control. Writes person.csv, record CSVs,
        aggregate.csv and manifest.json.
        """
        home = open_home()
        with home.sessions() as session:
            actor = load_actor_by_username(session, as_user) if as_user else system_actor("cli:extract")
            report = produce_extract(
                session, actor=actor, settings=home.settings, data_request_id=request, out_dir=out_dir
            )
            session.commit()
        table = Table(title=f"extract for data request #{report.data_request_id}", show_header=False)
        table.add_row("folder", str(report.folder))
        table.add_row("people released", str(report.person_count))
        table.add_row("people left out (opt-outs, objections)", str(report.excluded_count))
        for name, rows in sorted(report.files.items()):
            table.add_row(name, f"{rows} rows")
        out.print(table)
