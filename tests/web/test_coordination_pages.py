"""The coordination centre's and the discharge service's pages.

In a real Chromium: a coordinator takes a GP's phone referral for Ann, triages it onto the heart
failure pathway, sees her on the board, and the board updates by itself when an ADT transfer
arrives; a volunteer on a phone takes on a frail person from the A&E worklist, writes their
passport, gets them home, and records an unreachable call (a retry appears). Without a browser:
the volunteer is refused the person's diagnoses, with the refusal audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.coordination import process_outbox
from joinedup.coordination.centre import set_up_centre
from joinedup.coordination.discharge_support import DISCHARGE_TEAM_ID
from joinedup.coordination.referrals import CENTRE_TEAM_ID
from joinedup.governance import add_team_member
from joinedup.store import make_engine, make_session_factory
from joinedup.store.tables import Observation, OutboxEvent, Person, SourcePatient
from joinedup.store.tables.governance import AppUser, AuditEntry
from record.seed import ANN, ANN_NHS, TRUST

from .conftest import WebHome, browser_sign_in, screenshot

FRAIL = "per-coord-frail"


@dataclass(frozen=True)
class CentreHome:
    """The seeded web home with the centre set up, its users, and a frail person in A&E."""

    web_home: WebHome


def _in_session(home: WebHome, work: Any) -> Any:
    engine = make_engine(home.database_url)
    try:
        with make_session_factory(engine)() as session:
            result = work(session)
            session.commit()
            return result
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def centre(web_home: WebHome) -> CentreHome:
    """Teams, the service directory, a coordinator and a volunteer, and a frail person on the worklist."""

    def seed(session: Session) -> None:
        set_up_centre(session)
        if session.get(AppUser, "user-coord1") is None:
            password_hash = session.scalar(select(AppUser.password_hash).where(AppUser.username == "gp1"))
            for user_id, username, role, team in (
                ("user-coord1", "coord1", "care_coordinator", CENTRE_TEAM_ID),
                ("user-dvol1", "dvol1", "discharge_volunteer", DISCHARGE_TEAM_ID),
                ("user-comm1", "comm1", "commissioner", None),
                ("user-ward1", "ward1", "consultant", None),
            ):
                session.add(AppUser(user_id=user_id, username=username, role=role, password_hash=password_hash,
                                    org_code=TRUST if role == "consultant" else None, failed_sign_in_count=0,
                                    active_flag=True))
                session.flush()
                if team:
                    add_team_member(session, team_id=team, user_id=user_id)
        if session.get(Person, FRAIL) is None:
            session.add(Person(person_id=FRAIL, status="active"))
            session.flush()
            patient = SourcePatient(
                source="hospital-pas", local_id="M-FRAIL", person_id=FRAIL, given_name="Edith",
                family_name="Frailwell", birth_date=date(1936, 4, 9), phone="0113 496 0000",
                nhs_number_status="missing",
            )
            session.add(patient)
            session.flush()
            session.add(Observation(
                source="hospital-pas", source_record_id="frail-lives-alone",
                source_patient_id=patient.source_patient_id,
                code="105529008", code_system="http://snomed.info/sct", display="Lives alone",
                effective_at=datetime.now(UTC) - timedelta(days=100),
            ))
            session.add(OutboxEvent(
                kind="adt.attend", source_patient_id=patient.source_patient_id,
                payload={"event": "A04", "setting": "ae", "ward": "ED", "encounter_key": ["hospital-pas", "AE-FR1"]},
                occurred_at=datetime.now(UTC) - timedelta(hours=3),
            ))
            session.flush()
        process_outbox(session)

    _in_session(web_home, seed)
    return CentreHome(web_home)


def _refusals(home: WebHome, username: str, resource_type: str) -> int:
    def count(session: Session) -> int:
        return session.scalar(
            select(func.count()).select_from(AuditEntry).where(
                AuditEntry.username == username, AuditEntry.resource_type == resource_type,
                AuditEntry.outcome.in_(("denied", "not_found")),
            )
        ) or 0

    result: int = _in_session(home, count)
    return result


def test_volunteer_is_refused_diagnoses_and_the_refusal_is_audited(centre: CentreHome, signed_in: Any) -> None:
    client = signed_in("dvol1")
    page = client.get("/discharge")
    assert page.status_code == 200
    assert "FRAILWELL, Edith" in page.text
    before = _refusals(centre.web_home, "dvol1", "condition")
    response = client.get(f"/fhir/Condition?patient={FRAIL}")
    assert response.status_code == 403
    assert _refusals(centre.web_home, "dvol1", "condition") == before + 1


def test_board_json_lists_only_the_centres_caseload(centre: CentreHome, signed_in: Any) -> None:
    rows = signed_in("coord1").get("/api/coordination/board").json()
    assert FRAIL not in {row["person_id"] for row in rows}
    assert signed_in("dvol1").get("/api/coordination/board").json() == []


@pytest.mark.browser
def test_coordinator_takes_a_referral_and_watches_the_board(centre: CentreHome, page: Any) -> None:
    browser_sign_in(page, "coord1")
    page.get_by_role("link", name="Coordination").first.click()
    page.get_by_role("link", name="New referral").click()
    page.get_by_label("NHS number").fill("943 476 5919")
    page.get_by_role("button", name="Find patient").click()
    page.get_by_label("Reason for referral").fill("Breathless, ankles swollen; NT-proBNP 2,400")
    page.get_by_label("Urgency").select_option("urgent")
    page.get_by_label("Pathway suggested").select_option("heart-failure")
    screenshot(page, "coordination-referral-form")
    page.get_by_role("button", name="Save referral").click()
    assert "Breathless" in page.get_by_test_id("referral").inner_text()
    page.get_by_label("Reason").fill("Meets NICE NG106 criteria")
    page.get_by_role("button", name="Save decision").click()

    heart_failure = page.get_by_test_id("pathway-heart-failure")
    assert "Triage referral and agree urgency" in heart_failure.get_by_test_id("current-step").inner_text()
    assert "Phone patient to explain the heart failure pathway" in page.get_by_test_id("patient-tasks").inner_text()
    screenshot(page, "coordination-patient")

    page.get_by_role("link", name="Board", exact=True).click()
    row = page.locator(f'[data-testid="board-row"][data-person="{ANN}"]')
    assert "heart-failure" in row.inner_text()
    assert "Admitted" in row.get_by_test_id("place").inner_text()

    def transfer(session: Session) -> None:
        patient_id = session.scalar(
            select(SourcePatient.source_patient_id).where(SourcePatient.person_id == ANN).limit(1)
        )
        session.add(OutboxEvent(kind="adt.transfer", source_patient_id=patient_id,
                                payload={"event": "A02", "ward": "Ward 12 (cardiology)", "setting": "inpatient"},
                                occurred_at=datetime.now(UTC)))
        session.flush()
        process_outbox(session)

    _in_session(centre.web_home, transfer)
    # No reload: htmx polls the rows every 5 seconds.
    from playwright.sync_api import expect

    expect(row.get_by_test_id("place")).to_contain_text("Ward 12 (cardiology)", timeout=8_000)
    screenshot(page, "coordination-board")


@pytest.mark.browser
def test_volunteer_on_a_phone_helps_a_frail_person_home(centre: CentreHome, browser: Any, live_server: str) -> None:
    context = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 812}, is_mobile=True)
    context.set_default_timeout(10_000)
    phone = context.new_page()
    try:
        browser_sign_in(phone, "dvol1")
        phone.goto("/discharge")
        entry = phone.get_by_test_id("worklist-entry").filter(has_text="FRAILWELL")
        assert "Lives alone" in entry.inner_text()
        screenshot(phone, "discharge-worklist-phone")
        entry.get_by_role("button", name="Take on").click()
        assert "FRAILWELL, Edith" in phone.get_by_test_id("case-name").inner_text()
        case_url = phone.url
        assert "0113 496 0000" in phone.get_by_test_id("contact").inner_text()

        phone.get_by_role("link", name="Start a passport").click()
        phone.get_by_label("The person agrees to having a passport").check()
        phone.get_by_label("How I like to be addressed").fill("Edie")
        phone.get_by_label("Pets").fill("Budgie called Joey")
        phone.get_by_role("button", name="Save passport").click()
        assert phone.get_by_label("Pets").input_value() == "Budgie called Joey"
        phone.goto(f"/discharge/patients/{FRAIL}/passport/print")
        assert "Budgie called Joey" in phone.get_by_test_id("passport-print").inner_text()
        phone.goto(case_url)
        phone.get_by_label("Decision to go home").fill("2026-11-25T11:00")
        phone.get_by_label("Arrived home").fill("2026-11-25T15:30")
        phone.get_by_role("button", name="Home", exact=True).click()
        calls = phone.get_by_test_id("call")
        assert calls.count() == 2
        first = calls.first
        first.get_by_label("Outcome").select_option("unreachable")
        first.get_by_role("button", name="Save call").click()
        texts = phone.get_by_test_id("calls").inner_text()
        assert "Could Not Reach" in texts or "Unreachable" in texts or "unreachable" in texts.lower()
        assert "Day 1, try 2" in texts
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(phone, "discharge-case-phone")
    finally:
        context.close()


def test_a_fhir_service_request_posted_by_a_coordinator_is_stored_and_read_back(
    centre: CentreHome, signed_in: Any
) -> None:
    client = signed_in("coord1")
    token = client.get("/coordination/referrals/new").text.split('name="csrf-token" content="')[1].split('"')[0]
    resource = {
        "resourceType": "ServiceRequest", "id": "ext-sr-1", "status": "active", "intent": "order",
        "priority": "routine", "subject": {"reference": f"Patient/{ANN}"},
        "reasonCode": [{"text": "End of life planning"}],
    }
    created = client.post("/fhir/ServiceRequest", json=resource, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/fhir+json")
    read = client.get(created.headers["location"])
    assert read.json()["reasonCode"] == [{"text": "End of life planning"}]
    assert read.json()["identifier"] == [{"system": "urn:joinedup:referral-source-id", "value": "ext-sr-1"}]
    assert signed_in("gp2").get(created.headers["location"]).status_code == 403


def test_measures_are_for_commissioners(centre: CentreHome, signed_in: Any) -> None:
    answer = signed_in("comm1").get("/api/discharge/measures?start=2026-10-01&end=2026-11-01")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["start"], body["end"], body["helped_home_by_week"]) == ("2026-10-01", "2026-11-01", {})
    assert body["outcomes"]["label"].startswith("Observational comparison")
    assert signed_in("dvol1").get("/api/discharge/measures?start=2026-10-01&end=2026-11-01").status_code == 403


def test_ward_staff_refer_an_inpatient_directly(centre: CentreHome, signed_in: Any) -> None:
    ward = signed_in("ward1")
    form = ward.get("/discharge/refer")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    found = ward.post("/discharge/refer/find", data={"nhs_number": ANN_NHS, "csrf_token": token})
    assert "EXAMPLE, Ann" in found.text
    referred = ward.post(
        "/discharge/referrals",
        data={"person_id": ANN, "setting": "admitted", "reason": "Lives alone, needs shopping in", "csrf_token": token},
        follow_redirects=False,
    )
    assert referred.status_code == 303
    case_page = signed_in("dvol1").get(referred.headers["location"])
    assert case_page.status_code == 200
    assert "EXAMPLE, Ann" in case_page.text
