"""Workforce pages in a real Chromium: a coordinator plans a neighbourhood's day, accepts and
publishes it; a community nurse sees their visits on a phone."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from joinedup.governance import create_user
from joinedup.store import make_engine, make_session_factory, unit_of_work
from joinedup.store.tables import Organisation, Person, SourcePatient
from joinedup.store.tables.risk import RiskScore
from joinedup.store.tables.workforce import CareWorkerRow, PlannedVisitRow, VisitPlanRow

from .conftest import PASSWORD, WebHome, browser_sign_in, screenshot

pytestmark = pytest.mark.browser

DAY = date(2026, 11, 26)
NEIGHBOURHOOD = "Testfield"


@pytest.fixture(scope="module")
def frail_neighbourhood(web_home: WebHome) -> None:
    """Fifteen severely frail residents of one neighbourhood, a coordinator and a community nurse."""
    engine = make_engine(web_home.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        session.add(Organisation(org_code="WF001", name="Testfield Surgery", kind="gp_practice",
                                 neighbourhood=NEIGHBOURHOOD))
        for n in range(15):
            person_id = f"wf{n:02d}"
            session.add(Person(person_id=person_id))
            session.add(SourcePatient(source="gp", local_id=f"WF{n}", person_id=person_id,
                                      postcode=f"M33 {n % 9 + 1}AB", registered_practice_code="WF001"))
            session.add(RiskScore(person_id=person_id, model_version="t", as_of_date=DAY, practice_code="WF001",
                                  score=0.3, population_rank=n + 1, band="high", efi_count=14,
                                  efi_category="severe", charlson_index=1, reasons=[]))
        create_user(session, username="wfcoord", password=PASSWORD, role="care_coordinator")
        create_user(session, username="wfnurse", password=PASSWORD, role="community_nurse")
    engine.dispose()


def test_coordinator_plans_accepts_and_publishes_a_day(page: Any, web_home: WebHome,
                                                       frail_neighbourhood: None) -> None:
    browser_sign_in(page, "wfcoord")
    page.goto(f"/workforce?neighbourhood={NEIGHBOURHOOD}")
    assert "clinical observations" in page.locator("#gaps").inner_text()
    page.get_by_label("Day").fill(DAY.isoformat())
    page.get_by_role("button", name="Plan visits").click()
    saving = page.locator("#saving").inner_text()
    assert "before" in saving
    assert "after" in saving
    screenshot(page, "workforce-plan-draft")
    page.get_by_role("button", name="Accept plan").click()
    assert page.locator("#plan-status").inner_text() == "accepted"
    page.get_by_role("button", name="Publish to the team").click()
    assert page.locator("#plan-status").inner_text() == "published"

    engine = make_engine(web_home.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        plan = session.scalars(select(VisitPlanRow).where(VisitPlanRow.neighbourhood == NEIGHBOURHOOD)).one()
        assert plan.status == "published"
        visit = session.scalars(select(PlannedVisitRow).where(PlannedVisitRow.visit_plan_id == plan.visit_plan_id)
                                .order_by(PlannedVisitRow.worker_id, PlannedVisitRow.sequence)).first()
        assert visit is not None
        worker = session.get(CareWorkerRow, visit.worker_id)
        assert worker is not None
        worker.username = "wfnurse"
        mine = session.scalars(select(PlannedVisitRow).where(PlannedVisitRow.worker_id == worker.worker_id)).all()
        expected_postcodes = [v.postcode for v in sorted(mine, key=lambda v: v.sequence)]
    engine.dispose()

    phone = page.context.browser.new_context(base_url=page.url.split("/workforce")[0],
                                             viewport={"width": 375, "height": 812})
    nurse_page = phone.new_page()
    browser_sign_in(nurse_page, "wfnurse")
    nurse_page.goto(f"/workforce/my-day?day={DAY.isoformat()}")
    shown = nurse_page.locator("#my-visits").inner_text()
    assert [postcode for postcode in expected_postcodes if postcode in shown] == expected_postcodes
    screenshot(nurse_page, "workforce-my-day-phone")
    phone.close()
