"""Governance pages and API in the real app: break-glass round trip, the IG desk, the board, users."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI

from joinedup.governance import create_user, ensure_team
from joinedup.governance.sharing import create_agreement
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory, unit_of_work, upgrade_store
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import AppUser, AuditEntry
from joinedup.web import create_app
from web.conftest import UNTHROTTLED, sign_in

from .factories import actor, make_person

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PASSWORD = "correct-horse-battery-staple"
PRACTICE = "P00001"
USERS = {
    "gp-other": ("gp", "P99999"),
    "ig": ("ig_officer", "ICB01"),
    "analyst": ("analyst", "ICB01"),
    "board1": ("data_sharing_board_member", "ICB01"),
    "board2": ("data_sharing_board_member", "ICB01"),
    "admin": ("system_administrator", None),
    "volunteer": ("discharge_volunteer", "VOL01"),
}


@dataclass(frozen=True)
class Site:
    app: FastAPI
    person_id: str
    sessions: object


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    home: Path = tmp_path_factory.mktemp("governance-web")
    # Its users all sign in from "testclient" (staff enrolling their authenticators on the way).
    settings = load_settings(home=home, **UNTHROTTLED)
    engine = make_engine(settings.resolved_database_url)
    upgrade_store(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        person = make_person(session, practice=PRACTICE)
        ensure_team(session, team_id="vol", name="Home from hospital", kind="discharge_service")
        first = create_user(session, username="gp-other", password=PASSWORD, role="gp", org_code="P99999")
        password_hash = session.get(AppUser, first.user_id).password_hash  # type: ignore[union-attr]
        for username, (role, org) in USERS.items():
            if username != "gp-other":
                # Argon2 takes most of a second on a busy machine: hash once, reuse.
                session.add(
                    AppUser(
                        user_id=f"user-{username}",
                        username=username,
                        role=role,
                        org_code=org,
                        password_hash=password_hash,
                        failed_sign_in_count=0,
                        active_flag=True,
                    )
                )
        today = utc_now().date()
        create_agreement(
            session,
            actor=actor("ig_officer"),
            agreement_id="DSA-W",
            kind="sharing",
            title="Planning",
            purpose="planning",
            party="ICB01",
            fields=["person.sex", "person.birth_date"],
            start_date=date(today.year - 1, 1, 1),
            end_date=date(today.year + 1, 1, 1),
        )
    return Site(app=create_app(settings, sessions=factory), person_id=person.person_id, sessions=factory)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.fixture(scope="module")
def browser_as(site: Site) -> Iterator[object]:
    clients: dict[str, TestClient] = {}

    def client_for(username: str) -> TestClient:
        if username not in clients:
            client = TestClient(site.app, base_url="https://testserver")
            answer = sign_in(client, username, PASSWORD)
            assert answer.status_code == 303, answer.text
            clients[username] = client
        return clients[username]

    yield client_for
    for client in clients.values():
        client.close()


def _token(client: TestClient) -> str:
    return _csrf(client.get("/governance/break-glass?person_id=x").text)


def test_break_glass_round_trip_through_the_pages(site: Site, browser_as: object) -> None:
    doctor: TestClient = browser_as("gp-other")  # type: ignore[operator]
    ig: TestClient = browser_as("ig")  # type: ignore[operator]
    assert doctor.get(f"/patients/{site.person_id}").status_code == 403

    form = doctor.get(f"/governance/break-glass?person_id={site.person_id}")
    assert form.status_code == 200
    assert "Use this only in an emergency" in form.text
    token = _csrf(form.text)
    short = doctor.post(
        "/governance/break-glass", data={"person_id": site.person_id, "reason": "x", "csrf_token": token}
    )
    assert short.status_code == 422
    assert "give the reason" in short.text
    opened = doctor.post(
        "/governance/break-glass",
        data={"person_id": site.person_id, "reason": "collapsed in clinic, no GP reachable", "csrf_token": token},
        follow_redirects=False,
    )
    assert (opened.status_code, opened.headers["location"]) == (303, f"/patients/{site.person_id}")
    assert doctor.get(f"/patients/{site.person_id}").status_code == 200

    desk = ig.get("/governance")
    assert desk.status_code == 200
    assert "collapsed in clinic, no GP reachable" in desk.text
    assert "break-glass by gp-other (gp, P99999)" in desk.text
    review = re.search(r'action="(/governance/break-glass/\d+/review)"', desk.text)
    assert review
    done = ig.post(
        review.group(1),
        data={"outcome": "appropriate", "note": "seen", "csrf_token": _csrf(desk.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = ig.get("/governance").text
    assert "Nothing awaiting review." in after
    assert "No open alerts." in after


def test_the_ig_officer_verifies_the_trail_and_others_cannot(site: Site, browser_as: object) -> None:
    ig: TestClient = browser_as("ig")  # type: ignore[operator]
    page = ig.get("/governance/audit")
    verified = ig.post("/governance/audit/verify", data={"csrf_token": _csrf(page.text)})
    assert verified.status_code == 200
    assert "Intact" in verified.text
    analyst: TestClient = browser_as("analyst")  # type: ignore[operator]
    refused = analyst.get("/governance/audit")
    assert refused.status_code == 403
    assert "your role may not search audit records" in refused.text

    from fhir.resources.R4B.bundle import Bundle

    exported = ig.get("/api/governance/audit-events", params={"limit": 50})
    assert exported.status_code == 200
    bundle = Bundle.model_validate(exported.json())
    events = [entry.resource for entry in bundle.entry or []]
    assert events
    assert {event.get_resource_type() for event in events} == {"AuditEvent"}
    assert [event.id for event in events] == [f"audit-{n}" for n in range(1, len(events) + 1)]
    assert analyst.get("/api/governance/audit-events").status_code == 403


def test_the_data_request_workflow_through_the_api(site: Site, browser_as: object) -> None:
    analyst: TestClient = browser_as("analyst")  # type: ignore[operator]
    body = {
        "title": "Age and sex of the over-65s",
        "purpose": "planning",
        "legal_basis": "NHS Act 2006 s.251",
        "agreement_id": "DSA-W",
        "cohort": {"min_age": 65},
        "fields": ["person.sex"],
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
    }
    created = analyst.post("/api/governance/requests", json=body, headers={"X-CSRF-Token": _token(analyst)})
    assert created.status_code == 201, created.text
    request_id = created.json()["data_request_id"]
    assert created.json()["status"] == "submitted"

    outside = analyst.post(
        "/api/governance/requests",
        json={**body, "fields": ["person.nhs_number"]},
        headers={"X-CSRF-Token": _token(analyst)},
    )
    assert outside.status_code == 422
    assert "direct identifiers cannot leave" in str(outside.json()["detail"])

    volunteer: TestClient = browser_as("volunteer")  # type: ignore[operator]
    refused = volunteer.post(
        f"/api/governance/requests/{request_id}/reviews",
        json={"kind": "approve"},
        headers={"X-CSRF-Token": _token(volunteer)},
    )
    assert refused.status_code == 403
    for member in ("board1", "board2"):
        client: TestClient = browser_as(member)  # type: ignore[operator]
        answer = client.post(
            f"/api/governance/requests/{request_id}/reviews",
            json={"kind": "approve", "text": "fine"},
            headers={"X-CSRF-Token": _token(client)},
        )
        assert answer.status_code == 200, answer.text
    final = analyst.get(f"/api/governance/requests/{request_id}").json()
    assert final["status"] == "approved"
    assert [(r["reviewer"], r["kind"]) for r in final["reviews"]] == [("board1", "approve"), ("board2", "approve")]

    page = browser_as("board1").get(f"/governance/requests/{request_id}")  # type: ignore[operator]
    assert page.status_code == 200
    assert 'data-testid="status">Approved' in page.text


def test_the_administrator_manages_users_and_a_gp_cannot(site: Site, browser_as: object) -> None:
    admin: TestClient = browser_as("admin")  # type: ignore[operator]
    page = admin.get("/governance/users")
    assert page.status_code == 200
    added = admin.post(
        "/governance/users",
        data={
            "username": "newnurse",
            "role": "community_nurse",
            "org_code": "RCOM1",
            "team_ids": "vol",
            "password": "a long enough password",
            "csrf_token": _csrf(page.text),
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    listing = admin.get("/governance/users").text
    assert "newnurse" in listing
    made = admin.post(
        "/governance/teams",
        data={"team_id": "ward-7", "name": "Ward 7", "kind": "ward", "csrf_token": _csrf(listing)},
        follow_redirects=False,
    )
    assert made.status_code == 303
    joined = admin.post(
        "/governance/users/newnurse/teams",
        data={"team_id": "ward-7", "change": "add", "csrf_token": _csrf(listing)},
        follow_redirects=False,
    )
    assert joined.status_code == 303
    with site.sessions() as session:  # type: ignore[operator]
        from joinedup.governance.users import get_user

        assert get_user(session, "newnurse").team_ids == ("vol", "ward-7")
    gp: TestClient = browser_as("gp-other")  # type: ignore[operator]
    assert gp.get("/governance/users").status_code == 403
    with site.sessions() as session:  # type: ignore[operator]
        # Not counting the sign-in that sent gp-other to set up an authenticator first.
        refusals = (
            session.query(AuditEntry).filter_by(username="gp-other", resource_type="user", outcome="denied")
            .filter(AuditEntry.action != "sign_in").count()
        )
    assert refusals == 1
