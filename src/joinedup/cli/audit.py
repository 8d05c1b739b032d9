"""``joinedup audit``: who has looked at a record, verify the chain, checkpoint it, IG alerts, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import console, friendly_errors, open_home, out
from joinedup.governance import checkpoint_audit_chain, list_ig_alerts, verify_audit_chain
from joinedup.governance.alerts import scan_for_unusual_access
from joinedup.governance.record_access import accesses_to_person, export_audit_events, person_ids_for_nhs_number
from joinedup.model import system_actor

audit_app = typer.Typer(
    help="Search and verify the audit trail; answer 'who has looked at my record'.", invoke_without_command=True
)


@audit_app.callback()
@friendly_errors
def audit(
    ctx: typer.Context,
    person: Annotated[str | None, typer.Option("--person", help="NHS number: who has looked at this record.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Answer "who has looked at my record" with --person NHSNO, or run a sub-command."""
    if ctx.invoked_subcommand is not None:
        return
    if person is None:
        out.print(ctx.get_help())
        raise typer.Exit(code=0)
    home = open_home(quiet=as_json)
    actor = system_actor("cli:audit")
    with home.sessions() as session:
        accesses = [
            access
            for person_id in person_ids_for_nhs_number(session, person)
            for access in accesses_to_person(session, actor=actor, person_id=person_id)
        ]
        session.commit()
    if as_json:
        out.print_json(json.dumps([access.__dict__ for access in accesses], default=str))
        return
    table = Table(title=f"who has looked at this record ({len(accesses)} entries)")
    for column in ("when (UTC)", "who", "role", "organisation", "what", "outcome", "why"):
        table.add_column(column)
    for access in accesses:
        table.add_row(
            access.occurred_at.strftime("%Y-%m-%d %H:%M"),
            access.username,
            access.role,
            access.org_code or "",
            f"{access.action} {access.resource_type}",
            access.outcome,
            ("[bold red]BREAK-GLASS[/bold red] " if access.break_glass else "") + access.basis,
        )
    out.print(table)


@audit_app.command("verify")
@friendly_errors
def verify() -> None:
    """Check the whole trail: every link, every hash, every sealed checkpoint. Exit 1 if tampered."""
    home = open_home()
    with home.sessions() as session:
        report = verify_audit_chain(session, settings=home.settings)
    if report.ok:
        out.print(f"audit trail intact: {report.entry_count} entries, {report.checkpoint_count} checkpoints")
        return
    console.print(f"[red]audit trail NOT intact[/red] ({report.entry_count} entries):")
    for problem in report.problems:
        console.print(f"  {problem}", highlight=False)
    raise typer.Exit(code=1)


@audit_app.command("checkpoint")
@friendly_errors
def checkpoint() -> None:
    """Seal the chain head with the checkpoint key kept in the home (run daily, and before backups)."""
    home = open_home()
    with home.sessions() as session:
        sealed = checkpoint_audit_chain(session, settings=home.settings)
        session.commit()
    out.print(f"checkpoint at sequence {sealed.sequence}" if sealed else "nothing new to checkpoint")


@audit_app.command("scan")
@friendly_errors
def scan() -> None:
    """Look for unusual access in the last hour (trawling many records, many refusals); alert IG."""
    home = open_home()
    with home.sessions() as session:
        raised = scan_for_unusual_access(session)
        session.commit()
    out.print(f"{raised} unusual-access alerts raised")


@audit_app.command("alerts")
@friendly_errors
def alerts(all_alerts: Annotated[bool, typer.Option("--all", help="Include closed alerts.")] = False) -> None:
    """Alerts for the information-governance officer (break-glass, unusual access)."""
    home = open_home()
    with home.sessions() as session:
        found = list_ig_alerts(session, actor=system_actor("cli:audit"), open_only=not all_alerts)
        rows = [(a.ig_alert_id, a.raised_at, a.kind, a.status, a.summary) for a in found]
        session.commit()
    table = Table(title="IG alerts")
    for column in ("id", "raised (UTC)", "kind", "status", "summary"):
        table.add_column(column)
    for alert_id, raised_at, kind, status, summary in rows:
        table.add_row(str(alert_id), raised_at.strftime("%Y-%m-%d %H:%M"), kind, status, summary)
    out.print(table)


@audit_app.command("export")
@friendly_errors
def export(
    output: Annotated[Path, typer.Option("--out", help="File to write (FHIR R4 Bundle of AuditEvents, JSON).")],
    person: Annotated[str | None, typer.Option("--person", help="Only this NHS number's entries.")] = None,
) -> None:
    """Export the trail as a FHIR R4 collection Bundle of AuditEvent resources."""
    home = open_home()
    actor = system_actor("cli:audit")
    with home.sessions() as session:
        person_ids: list[str | None] = list(person_ids_for_nhs_number(session, person)) if person else [None]
        events = [e for pid in person_ids for e in export_audit_events(session, actor=actor, person_id=pid)]
        session.commit()
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": e} for e in events]}
    output.write_text(json.dumps(bundle, indent=1), encoding="utf-8")
    out.print(f"wrote {len(events)} AuditEvents to {output}")


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command group."""
    app.add_typer(audit_app, name="audit")
