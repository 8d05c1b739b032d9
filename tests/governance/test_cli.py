"""The governance commands as an operator uses them: users, audit verify/--person/export, extract."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

from click.testing import Result
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.governance import authorise, ensure_team
from joinedup.governance.sharing import create_agreement, review_data_request, submit_data_request
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory, upgrade_store
from joinedup.store.tables.base import utc_now

from .factories import actor, make_person


def _run(home: Path, *args: str) -> Result:
    """Run the real ``joinedup`` app in-process (a subprocess per call costs seconds of imports)."""
    return CliRunner().invoke(app, list(args), env={"JOINEDUP_HOME": str(home), "COLUMNS": "250"})


def _session(home: Path) -> Session:
    settings = load_settings(home=home)
    engine = make_engine(settings.resolved_database_url)
    upgrade_store(engine)
    return make_session_factory(engine)()


def test_users_audit_and_extract_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with _session(home) as session:
        ensure_team(session, team_id="ccc", name="Coordination centre", kind="coordination_centre")
        person = make_person(session, practice="P00001", birth_date=date(1940, 1, 1))
        gp = actor("gp", org="P00001")
        authorise(session, actor=gp, person_id=person.person_id, resource_type="condition")
        session.commit()

    created = _run(
        home,
        "users",
        "create",
        "cora",
        "--role",
        "care_coordinator",
        "--org",
        "CCC01",
        "--team",
        "ccc",
        "--password",
        "a long enough password",
    )
    assert created.exit_code == 0, created.output
    listed = _run(home, "users", "list")
    assert "cora" in listed.stdout
    assert "care_coordinator" in listed.stdout
    assert "ccc" in listed.stdout

    lists = tmp_path / "national-data-opt-out"
    lists.mkdir()
    today = utc_now().date().isoformat()
    (lists / f"cleaned-list-{today}.csv").write_text(f"nhs_number\n{person.nhs_number}\n", encoding="utf-8")
    loaded = _run(home, "optouts", str(lists), "--purpose", "research")
    assert loaded.exit_code == 0, loaded.output
    assert f"research │ {today} │ 1 " in loaded.stdout.replace("┃", "│")

    who = _run(home, "audit", "--person", person.nhs_number, "--json")
    assert who.exit_code == 0, who.output
    accesses = json.loads(who.stdout)
    assert [(a["username"], a["action"], a["resource_type"], a["basis"]) for a in accesses] == [
        (gp.username, "read", "condition", "registered_practice")
    ]
    assert _run(home, "audit", "checkpoint").exit_code == 0
    verified = _run(home, "audit", "verify")
    assert verified.exit_code == 0
    assert "audit trail intact" in verified.stdout

    exported = tmp_path / "audit.json"
    assert _run(home, "audit", "export", "--out", str(exported)).exit_code == 0
    bundle = json.loads(exported.read_text(encoding="utf-8"))
    from fhir.resources.R4B.bundle import Bundle

    assert Bundle.model_validate(bundle).type == "collection"
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"AuditEvent"}

    # Somebody with database access rewrites who looked: the command says so and exits 1.
    with sqlite3.connect(home / "joinedup.sqlite") as raw:
        raw.execute("UPDATE audit_entry SET username = 'someone-else' WHERE sequence = 1")
    tampered = _run(home, "audit", "verify")
    assert tampered.exit_code == 1
    assert "sequence 1): content does not match its hash (edited)" in tampered.output


def test_extract_command_writes_the_approved_request(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with _session(home) as session:
        for _ in range(3):
            make_person(session, practice="P00001", birth_date=date(1940, 1, 1))
        today = utc_now().date()
        create_agreement(
            session,
            actor=actor("ig_officer"),
            agreement_id="DSA-9",
            kind="sharing",
            title="Planning",
            purpose="planning",
            party="ICB01",
            fields=["person.sex"],
            start_date=date(today.year - 1, 1, 1),
            end_date=date(today.year + 1, 1, 1),
        )
        request = submit_data_request(
            session,
            actor=actor("analyst"),
            title="Sex split",
            purpose="planning",
            legal_basis="s.251",
            agreement_id="DSA-9",
            cohort={},
            fields=["person.sex"],
            period_start=date(2025, 1, 1),
            period_end=date(2025, 12, 31),
        )
        for _ in range(2):
            review_data_request(
                session,
                actor=actor("data_sharing_board_member"),
                data_request_id=request.data_request_id,
                kind="approve",
            )
        session.commit()

    result = _run(home, "extract", "--request", str(request.data_request_id), "--out", str(tmp_path / "out"))

    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / f"request-{request.data_request_id}"
    # No cleaned list loaded: nobody may be used for planning, so nobody leaves.
    assert (folder / "person.csv").read_text(encoding="utf-8").splitlines() == ["pseudonym,sex"]
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["people"] == {
        "released": 0,
        "excluded": "*",
    }
    missing = _run(home, "extract", "--request", "999", "--out", str(tmp_path / "out"))
    assert missing.exit_code == 1
    assert "no data request #999" in missing.output
