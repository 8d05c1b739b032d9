"""Journeys in a real Chromium: a GP finds a patient and reads the record; an engineer checks the
feeds; a patient opens their portal. Screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from joinedup.governance.totp import provisioning_uri, totp_code

from .conftest import PASSWORD, WebHome, add_unenrolled_staff, browser_sign_in, screenshot

pytestmark = pytest.mark.browser


def test_gp_signs_in_finds_a_patient_and_reads_the_record(page: Any) -> None:
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    browser_sign_in(page, "gp1")
    assert page.get_by_role("heading", name="Welcome, gp1").is_visible()
    page.get_by_role("link", name="Find a patient").first.click()
    page.get_by_label("NHS number").fill("943 476 5919")
    page.get_by_role("button", name="Search").click()
    screenshot(page, "gp-search-results")
    page.get_by_role("link", name="EXAMPLE, Ann").click()

    banner = page.get_by_test_id("patient-banner")
    assert "943 476 5919" in banner.inner_text()
    assert "Admitted" in page.get_by_test_id("location").inner_text()
    medicines = page.get_by_test_id("medications").inner_text()
    assert medicines.count("Metformin") == 1
    assert "Doses differ" in medicines
    screenshot(page, "gp-record-summary")

    page.get_by_role("link", name="Timeline").click()
    timeline = page.get_by_test_id("timeline").inner_text()
    assert timeline.index("Hospital stay") < timeline.index("A&E") < timeline.index("Community")
    screenshot(page, "gp-record-timeline")

    page.get_by_role("link", name="Results").click()
    assert page.locator("svg.app-sparkline").count() == 3
    screenshot(page, "gp-record-results")
    # Only the NHS frontend's own font requests may fail (the CSP keeps them on our origin).
    assert [error for error in console_errors if "font" not in error.lower()] == []


def test_gp_record_on_a_phone(browser: Any, live_server: str) -> None:
    context = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 812}, is_mobile=True)
    phone = context.new_page()
    try:
        browser_sign_in(phone, "gp1")
        phone.goto("/patients/per-ann")
        assert phone.get_by_test_id("medications").is_visible()
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(phone, "gp-record-phone")
    finally:
        context.close()


def test_engineer_checks_the_feeds(page: Any) -> None:
    browser_sign_in(page, "sysadmin")
    page.get_by_role("link", name="Integration").first.click()
    feeds = page.get_by_test_id("feeds").inner_text()
    assert "hospital-pas" in feeds
    assert "ADT^A01" in feeds
    reasons = page.get_by_test_id("quarantine-reasons").inner_text()
    assert "nhs_number_check_digit" in reasons
    assert "fails its check digit" in reasons
    screenshot(page, "engineer-integration-status")


def test_patient_opens_the_portal_and_sees_who_looked(page: Any, browser: Any, live_server: str) -> None:
    # Ann's GP looks first, in another browser.
    other = browser.new_context(base_url=live_server)
    gp_page = other.new_page()
    browser_sign_in(gp_page, "gp1")
    gp_page.goto("/patients/per-ann")
    other.close()

    browser_sign_in(page, "ann")
    assert page.url.endswith("/portal")
    assert page.get_by_role("heading", name="Your record, Ann").is_visible()
    assert "Staying well at home" in page.get_by_test_id("care-plan").inner_text()
    assert "Metformin" in page.get_by_test_id("medicines").inner_text()
    screenshot(page, "patient-portal")
    page.get_by_role("link", name="Who has looked at my record").first.click()
    looks = page.get_by_test_id("looks").inner_text()
    assert "Gp at Riverside Surgery" in looks or "GP at Riverside Surgery" in looks
    assert "Registered practice" in looks
    screenshot(page, "patient-who-looked")


def test_unrelated_gp_is_offered_break_glass(page: Any) -> None:
    browser_sign_in(page, "gp2")
    response = page.goto("/patients/per-ann")
    assert response.status == 403
    assert "no care relationship" in page.get_by_test_id("error-message").inner_text()
    assert page.get_by_test_id("break-glass").is_visible()
    screenshot(page, "unrelated-gp-refused")


def test_search_errors_show_in_place_with_htmx(page: Any) -> None:
    browser_sign_in(page, "nurse1")
    page.goto("/patients")
    page.get_by_label("Full name").fill("Example")
    page.get_by_role("button", name="Search").click()
    summary = page.locator(".nhsuk-error-summary")
    summary.wait_for()
    assert "name together with a date of birth" in summary.inner_text()
    # Still on the same page: htmx swapped the answer in.
    assert page.url.endswith("/patients")
    screenshot(page, "search-error")


def test_new_staff_member_sets_up_an_authenticator_at_first_sign_in(page: Any, web_home: WebHome) -> None:
    add_unenrolled_staff(web_home, "newnurse1")
    page.goto("/sign-in")
    page.get_by_label("Username").fill("newnurse1")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", name="Set up your authenticator app").is_visible()
    key = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    assert page.get_by_test_id("totp-uri").get_attribute("href") == provisioning_uri(key, "newnurse1")
    screenshot(page, "staff-authenticator-setup")

    # Not signed in yet: the record sends them back to sign in; the set-up page still holds their key.
    page.goto("/patients")
    assert "/sign-in" in page.url
    page.goto("/sign-in/authenticator")
    assert page.get_by_test_id("totp-secret").inner_text().replace(" ", "") == key

    page.get_by_label("Security code").fill(str((int(totp_code(key)) + 1) % 10**6).zfill(6))
    page.get_by_role("button", name="Confirm and sign in").click()
    problem = page.locator(".nhsuk-error-summary").inner_text()
    assert "Enter the 6-digit code your authenticator app shows now" in problem
    page.get_by_label("Security code").fill(totp_code(key))
    page.get_by_role("button", name="Confirm and sign in").click()
    assert page.get_by_role("heading", name="Welcome, newnurse1").is_visible()
