"""Pages rendered for each role against the worked record (TestClient; journeys are in test_journeys)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from record.seed import ANN


def test_practice_view_lists_the_high_risk_cohort(signed_in: object) -> None:
    gp: TestClient = signed_in("gp1")  # type: ignore[operator]
    page = gp.get("/practice")
    assert page.status_code == 200
    assert f'href="/patients/{ANN}"' in page.text
    assert "two emergency admissions in a year" in page.text
    # Hilltop has no risk scores yet: said plainly, not an empty list.
    other: TestClient = signed_in("gp2")  # type: ignore[operator]
    missing = other.get("/practice")
    assert missing.status_code == 404
    assert "joinedup risk score" in missing.text


def test_administrator_sees_what_is_withheld_and_why(signed_in: object) -> None:
    admin: TestClient = signed_in("admin1")  # type: ignore[operator]
    page = admin.get(f"/patients/{ANN}")
    assert page.status_code == 200
    assert 'data-testid="withheld-medications"' in page.text
    assert "your role may not read medication records" in page.text
    assert "Metformin" not in page.text
    assert page.headers["cache-control"] == "no-store"


def test_timeline_and_results_pages(signed_in: object) -> None:
    gp: TestClient = signed_in("gp1")  # type: ignore[operator]
    timeline = gp.get(f"/patients/{ANN}/timeline").text
    assert timeline.index("Emergency admission") < timeline.index("A&amp;E attendance") < timeline.index(
        "District nurse visit") < timeline.index("GP consultation")
    results = gp.get(f"/patients/{ANN}/results").text
    assert results.count('class="app-sparkline"') == 3
    assert "HbA1c: 3 values, rising" in results


def test_portal_is_for_patients(signed_in: object) -> None:
    ann: TestClient = signed_in("ann")  # type: ignore[operator]
    assert "Staying well at home" in ann.get("/portal").text
    assert ann.get("/", follow_redirects=False).headers["location"] == "/portal"
    gp: TestClient = signed_in("gp1")  # type: ignore[operator]
    assert gp.get("/portal").status_code == 403


def test_break_glass_opens_the_record_with_a_banner(signed_in: object) -> None:
    from .conftest import csrf_from

    gp3: TestClient = signed_in("gp3")  # type: ignore[operator]
    refused = gp3.get(f"/patients/{ANN}")
    assert refused.status_code == 403
    assert f"/governance/break-glass?person_id={ANN}" in refused.text
    form = gp3.get(f"/governance/break-glass?person_id={ANN}")
    opened = gp3.post("/governance/break-glass", data={
        "csrf_token": csrf_from(form.text), "person_id": ANN,
        "reason": "Unconscious in the surgery waiting room, needs medicines list",
    })
    assert opened.status_code == 200
    assert "Emergency access" in opened.text
    assert "Metformin" in opened.text


def test_each_sources_demographics_are_shown_behind_the_summary(signed_in: object) -> None:
    gp: TestClient = signed_in("gp1")  # type: ignore[operator]
    page = gp.get(f"/patients/{ANN}").text
    history = page[page.index('data-testid="demographic-history"'):]
    history = history[: history.index("</details>")]
    # Four sources; the hospital's older postcode is kept and shown, the community record has no NHS number.
    assert "Details from each source (4)" in history
    assert "LS2 9ZZ" in history
    assert "Missing" in history
    assert "Probabilistic" in history
