"""An analyst's journey through the population health dashboards, in a real Chromium.

The hand-worked record of the other web tests has too few people for any count to be released,
so this journey runs on a small synthetic borough made by the demo's own stages (synthesise,
ingest, link, governance, warehouse: the real warehouse build), served on a live server of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from joinedup.governance import create_user
from joinedup.operations.demo import STAGES, DemoContext, DemoOptions
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory, unit_of_work, upgrade_store
from joinedup.store.tables import Person, SourcePatient
from joinedup.web import create_app

from .conftest import LIVE_APPS, PASSWORD, browser_sign_in, screenshot
from .dashboard_checks import is_released_under_disclosure_control, measure_table_rows
from .threaded_server import serve_in_thread

pytestmark = pytest.mark.browser

PEOPLE = 600
DASHBOARD_STAGES = ("synthesise", "ingest", "link", "governance", "warehouse")
MEASURE = "emergency_admissions_per_1000"
# An NHS number as pages print it (943 476 5919) or bare.
NHS_NUMBER = re.compile(r"\b\d{3} ?\d{3} ?\d{4}\b")


@dataclass(frozen=True)
class Borough:
    """The live server's address and the identifiers of the people behind its dashboards."""

    base_url: str
    nhs_numbers: frozenset[str]
    names: frozenset[str]
    person_ids: frozenset[str]


@pytest.fixture(scope="module")
def borough(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Borough]:
    home = tmp_path_factory.mktemp("dashboard-home")
    settings = load_settings(home=home)
    engine = make_engine(settings.resolved_database_url)
    upgrade_store(engine)
    context = DemoContext(settings=settings, engine=engine, options=DemoOptions(people=PEOPLE))
    for name, stage in STAGES:
        if name in DASHBOARD_STAGES:
            stage(context)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        create_user(session, username="analyst1", password=PASSWORD, role="analyst")
        patients = session.execute(select(SourcePatient.nhs_number, SourcePatient.family_name)).all()
        person_ids = frozenset(session.scalars(select(Person.person_id)).all())
    app = create_app(settings)
    with serve_in_thread(app, name="joinedup-dashboards") as base_url:
        LIVE_APPS[base_url] = app
        yield Borough(
            base_url=base_url,
            nhs_numbers=frozenset(number for number, _ in patients if number),
            names=frozenset(name for _, name in patients if name and len(name) > 3),
            person_ids=person_ids,
        )
    engine.dispose()


@pytest.fixture
def analyst_page(browser: Any, borough: Borough) -> Iterator[Any]:
    context = browser.new_context(base_url=borough.base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    browser_sign_in(page, "analyst1")
    yield page
    context.close()


def _assert_disclosure_controlled(html: str, *, some_suppressed: bool = True) -> list[tuple[str, str, str, str]]:
    rows = measure_table_rows(html)
    for area, numerator, denominator, value in rows:
        assert is_released_under_disclosure_control(numerator), (area, numerator)
        assert is_released_under_disclosure_control(denominator), (area, denominator)
        assert (value == "*") == (numerator == "*"), (area, value)
    if some_suppressed:
        assert any(row[1] == "*" for row in rows), "a small borough should have small numbers to suppress"
    assert any(row[1] != "*" for row in rows), "and figures to release"
    return rows


def _assert_no_patient_identifiers(page: Any, borough: Borough) -> None:
    html = page.content()
    text = page.locator("body").inner_text()
    assert NHS_NUMBER.findall(text) == []
    assert [number for number in borough.nhs_numbers if number in html] == []
    assert [person for person in borough.person_ids if person in html] == []
    words = set(re.findall(r"[A-Za-z'-]+", text))
    assert sorted(borough.names & words) == []


def _plotted(page: Any, test_id: str) -> list[str]:
    """The titles of the points a chart draws (what a user reads on hover)."""
    return [str(title) for title in page.locator(f'[data-testid="{test_id}"] circle title').all_text_contents()]


def _pixels_per_unit(chart: Any) -> float:
    """How many pixels a unit of the measure spans in a chart: its upper process limit's height over its value."""
    baseline = float(chart.locator("line.app-chart__axis").first.get_attribute("y1"))
    limit = chart.locator("line.app-chart__limit").first
    value = float(re.findall(r"[\d,]+\.\d", limit.locator("title").text_content())[0].replace(",", ""))
    return (baseline - float(limit.get_attribute("y1"))) / value


def test_analyst_reads_the_dashboards_with_small_numbers_suppressed(analyst_page: Any, borough: Borough) -> None:
    page = analyst_page
    page.get_by_role("link", name="Dashboards").first.click()
    assert page.get_by_role("heading", name="Population health dashboards").is_visible()

    # By month: an SPC chart, one point per released month, none for a suppressed month.
    page.locator(f'a[href="/dashboards/{MEASURE}?by=month"]').click()
    chart = page.get_by_test_id("spc-chart")
    assert chart.is_visible()
    rows = _assert_disclosure_controlled(page.content())
    released_months = [area[:7] for area, numerator, _, _ in rows if numerator != "*"]
    assert [title.split(":")[0] for title in _plotted(page, "spc-chart")] == released_months
    suppressed_months = sum(1 for _, numerator, _, _ in rows if numerator == "*")
    description = chart.locator("desc").text_content()
    assert f"{len(released_months)} months shown, {suppressed_months} suppressed" in description
    _assert_no_patient_identifiers(page, borough)
    screenshot(page, "analyst-dashboard-spc")

    # By practice: a funnel plot of the practices whose figures are released.
    page.goto("/dashboards")
    page.locator(f'a[href="/dashboards/{MEASURE}?by=practice"]').click()
    assert page.get_by_test_id("funnel-plot").is_visible()
    rows = _assert_disclosure_controlled(page.content())
    released = sorted(area for area, numerator, denominator, _ in rows if numerator != "*" and denominator != "0")
    assert sorted(title.split(":")[0] for title in _plotted(page, "funnel-plot")) == released
    _assert_no_patient_identifiers(page, borough)
    screenshot(page, "analyst-dashboard-funnel")

    # By neighbourhood: the funnel, and one small SPC chart per neighbourhood on one scale.
    page.goto("/dashboards")
    page.locator(f'a[href="/dashboards/{MEASURE}?by=neighbourhood"]').click()
    neighbourhoods = [area for area, _, _, _ in measure_table_rows(page.content())]
    multiples = page.get_by_test_id("small-multiples")
    assert multiples.is_visible()
    assert multiples.locator("h3").all_inner_texts() == sorted(neighbourhoods)
    assert multiples.get_by_test_id("small-multiple").count() == len(neighbourhoods)
    # One scale: a value sits at the same height in every small multiple (pixels per unit agree).
    scales = [_pixels_per_unit(multiples.get_by_test_id("small-multiple").nth(i)) for i in range(len(neighbourhoods))]
    assert max(scales) - min(scales) < 0.01 * max(scales), scales
    # Neighbourhoods are big enough to release every total; their months are not: gaps, not points.
    _assert_disclosure_controlled(page.content(), some_suppressed=False)
    gaps = [int(re.findall(r"(\d+) suppressed", text)[0])
            for text in multiples.locator("svg desc").all_text_contents()]
    assert sum(gaps) > 0
    _assert_no_patient_identifiers(page, borough)
    screenshot(page, "analyst-dashboard-small-multiples")
