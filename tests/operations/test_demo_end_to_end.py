"""The demo end to end on a small borough, as the README's first command runs it, then a daily run.

One expensive setup (a 600-person borough through every stage) serves every check here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from joinedup.governance import verify_audit_chain
from joinedup.operations import run_daily
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory
from joinedup.store.tables import Person
from joinedup.store.tables.operations import OperationRun

PEOPLE = 600

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Run `joinedup demo --people 600 --no-serve --json` in a fresh home, as a user would."""
    home = tmp_path_factory.mktemp("demo-home")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("JOINEDUP_")}
    environment.update({"JOINEDUP_HOME": str(home), "COLUMNS": "200"})
    result = subprocess.run(
        [sys.executable, "-m", "joinedup.cli", "demo", "--people", str(PEOPLE), "--no-serve", "--json"],
        capture_output=True, text=True, env=environment, timeout=900, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    start = result.stdout.index("{")
    stages, _ = json.JSONDecoder().raw_decode(result.stdout[start:])
    return home, stages


def test_every_stage_ran_and_its_counts_add_up(demo_home: tuple[Path, dict[str, Any]]) -> None:
    _, stages = demo_home
    assert list(stages) == ["synthesise", "ingest", "link", "governance", "warehouse", "risk", "coordination",
                            "workforce", "live feed"]
    assert stages["synthesise"]["people"] == PEOPLE
    ingest = stages["ingest"]
    assert ingest["read"] == ingest["accepted"] + ingest["duplicates"] + ingest["quarantined"]
    assert ingest["quarantined"] > 0  # the default fault rate injects faults, and they are kept
    assert stages["link"]["precision"] >= 0.995
    assert stages["link"]["recall"] >= 0.98
    assert stages["governance"]["users"] == 13
    assert stages["governance"]["opt_out_lists"] >= 2  # the synthetic answer, and today's re-check
    assert stages["warehouse"]["secondary_use_people"] > 0
    assert stages["risk"]["scored"] > 0
    assert sum(stages["risk"]["by_band"].values()) == stages["risk"]["scored"]
    assert stages["coordination"]["referrals"] == 40
    live = stages["live feed"]
    assert live["messages"] > 0
    assert live["acked_AA"] == live["messages"]
    assert live["outbox_events"] >= live["messages"]


def test_the_demo_prints_users_for_every_role_with_their_passwords(demo_home: tuple[Path, dict[str, Any]]) -> None:
    home, _ = demo_home
    users = json.loads((home / "demo-users.json").read_text())
    roles = {user["role"] for user in users.values()}
    assert {"gp", "care_coordinator", "discharge_volunteer", "analyst", "ig_officer", "patient"} <= roles
    assert (home / "demo-users.json").stat().st_mode & 0o777 == 0o600


def test_a_daily_run_after_the_demo_skips_what_was_done_and_keeps_the_audit_chain(
    demo_home: tuple[Path, dict[str, Any]],
) -> None:
    home, _ = demo_home
    settings = load_settings(home=home)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        persons_before = session.scalar(select(func.count()).select_from(Person))
    report = run_daily(settings, engine, inbox=home / "feeds")
    assert report.succeeded, [step for step in report.steps if step.status != "done"]
    ingest = report.steps[0]
    assert ingest.counts["read"] == 0
    assert ingest.counts["files_read"] == 0
    assert ingest.counts["files_skipped"] > 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == persons_before
        run = session.get(OperationRun, report.operation_run_id)
        assert run is not None
        assert run.status == "succeeded"
        assert [step["step"] for step in run.steps] == ["ingest", "link", "coordination", "warehouse",
                                                         "risk_score", "audit"]
        assert verify_audit_chain(session, settings=settings).ok
    engine.dispose()


def test_an_analyst_reads_disclosure_controlled_dashboards_on_the_demo_borough(
    demo_home: tuple[Path, dict[str, Any]],
) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    from joinedup.web import create_app
    from web.conftest import sign_in
    from web.dashboard_checks import is_released_under_disclosure_control, measure_table_rows

    home, _ = demo_home
    analyst = json.loads((home / "demo-users.json").read_text())["analyst"]
    with TestClient(create_app(load_settings(home=home)), base_url="https://testserver") as client:
        assert sign_in(client, analyst["username"], analyst["password"]).status_code == 303
        assert "emergency_admissions_per_1000" in client.get("/dashboards").text
        page = client.get("/dashboards/emergency_admissions_per_1000", params={"by": "practice"})
    assert page.status_code == 200
    rows = measure_table_rows(page.text)
    assert rows, "the demo borough should give every practice a row"
    for _, numerator, denominator, _ in rows:
        assert is_released_under_disclosure_control(numerator), numerator
        assert is_released_under_disclosure_control(denominator), denominator


def test_demo_staff_sign_in_with_a_code_and_the_patient_with_a_password(
    demo_home: tuple[Path, dict[str, Any]],
) -> None:
    import re
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    from joinedup.web import create_app
    from web.conftest import csrf_from

    home, _ = demo_home
    users = json.loads((home / "demo-users.json").read_text())
    assert [key for key, user in users.items() if not user.get("totp_secret")] == ["patient"]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("JOINEDUP_")}
    printed = subprocess.run([sys.executable, "-m", "joinedup.cli", "users", "code", "demo-gp"], capture_output=True,
                             text=True, env={**environment, "JOINEDUP_HOME": str(home)}, timeout=120, check=True)
    code = printed.stdout.strip()
    assert re.fullmatch(r"\d{6}", code), code

    def attempt(client: TestClient, user: dict[str, str], security_code: str) -> int:
        page = client.get("/sign-in")
        return int(client.post("/sign-in", data={"username": user["username"], "password": user["password"],
                                                 "security_code": security_code, "csrf_token": csrf_from(page.text),
                                                 "next": "/"}, follow_redirects=False).status_code)

    with TestClient(create_app(load_settings(home=home)), base_url="https://testserver") as client:
        assert attempt(client, users["gp"], "") == 401
        assert attempt(client, users["gp"], code) == 303
    with TestClient(create_app(load_settings(home=home)), base_url="https://testserver") as client:
        assert attempt(client, users["patient"], "") == 303
