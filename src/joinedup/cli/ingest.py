"""``joinedup ingest``: take feed files and folders in, print what happened to every unit read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.feeds import IngestSummary, ingest_paths, replay_quarantine


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command."""

    @app.command()
    @friendly_errors
    def ingest(
        paths: Annotated[
            list[Path] | None, typer.Argument(help="Files or folders (a `joinedup synth` folder).")
        ] = None,
        format_name: Annotated[
            str | None, typer.Option("--format", help="fhir | hl7v2 | csv | csv:<layout>; detected when omitted.")
        ] = None,
        source: Annotated[str | None, typer.Option(help="Feed source for every file (default: folder name).")] = None,
        replay: Annotated[bool, typer.Option("--replay", help="Re-run open quarantine items (after a fix).")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
        workers: Annotated[
            int | None,
            typer.Option(help="Processes that parse and map ahead while one writer stores (0: none). "
                              "Default: one per core, up to 4, for a load of 64 MB or more."),
        ] = None,
    ) -> None:
        """Ingest FHIR R4, HL7 v2 and CSV/JSONL extract files; bad input is quarantined, never dropped.

        Prints accepted / updated / duplicates / quarantined by reason; read = accepted + duplicates +
        quarantined. Exits non-zero only when it could not run at all.
        """
        if not paths and not replay:
            raise typer.BadParameter("give files or folders to ingest, or --replay")
        for path in paths or []:
            if not path.exists():
                raise typer.BadParameter(f"no such file or folder: {path}")
        home = open_home(quiet=as_json)
        with home.sessions() as session:
            summary = (
                ingest_paths(session, paths, format_name=format_name, source=source, workers=workers)
                if paths else None
            )
            replayed = replay_quarantine(session, source=source) if replay else None
        for title, result in (("ingest", summary), ("replay", replayed)):
            if result is not None:
                _render(title, result, as_json)


def _render(title: str, summary: IngestSummary, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps({title: summary.as_dict()}))
        return
    table = Table(title=f"joinedup {title}", show_header=False)
    table.add_row("read", str(summary.read))
    table.add_row("accepted", f"{summary.accepted} (of which updated {summary.updated})")
    table.add_row("duplicates", str(summary.duplicates))
    table.add_row("quarantined", str(summary.quarantined_count))
    for reason, number in sorted(summary.quarantined.items()):
        table.add_row(f"  {reason}", str(number))
    for flag, number in sorted(summary.nhs_number_flags.items()):
        table.add_row(f"kept with {flag}", str(number))
    table.add_row("files read / skipped (done before)", f"{summary.files_read} / {summary.files_skipped}")
    if summary.reference_rows:
        table.add_row("reference rows", str(summary.reference_rows))
    if summary.replayed:
        table.add_row("quarantine items now accepted", str(summary.replayed))
    out.print(table)
