"""Accessibility: axe-core (WCAG 2.2 A/AA rules) finds no serious or critical problem on the
record's pages, in real Chromium, on desktop and phone widths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from record.seed import ANN

from .conftest import PASSWORD, WebHome, add_unenrolled_staff, browser_sign_in

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PAGES = {
    "gp1": ["/patients", f"/patients/{ANN}", f"/patients/{ANN}/timeline", f"/patients/{ANN}/results"],
    "ann": ["/portal", "/portal/who-looked"],
    "sysadmin": ["/integration"],
    "ig1": ["/identity/review"],
}


def _violations(page: Any) -> list[str]:
    page.add_script_tag(content=AXE)
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


PHONE_PAGES = {"gp1": [f"/patients/{ANN}"], "ann": ["/portal"]}


@pytest.mark.parametrize(("width", "pages"), [(1280, PAGES), (375, PHONE_PAGES)], ids=["desktop", "phone"])
def test_pages_have_no_serious_accessibility_problems(
    browser: Any, live_server: str, width: int, pages: dict[str, list[str]]
) -> None:
    # The test injects axe as an inline script, which the app's CSP rightly forbids: bypass it here only.
    context = browser.new_context(base_url=live_server, bypass_csp=True, viewport={"width": width, "height": 900})
    problems: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        page.goto("/sign-in")
        problems["/sign-in"] = _violations(page)
        for username, paths in pages.items():
            context.clear_cookies()
            browser_sign_in(page, username)
            for path in paths:
                page.goto(path)
                problems[path] = _violations(page)
    finally:
        context.close()
    assert {path: found for path, found in problems.items() if found} == {}


def test_the_authenticator_set_up_page_has_no_serious_accessibility_problems(
    browser: Any, live_server: str, web_home: WebHome
) -> None:
    add_unenrolled_staff(web_home, "newnurse2")
    context = browser.new_context(base_url=live_server, bypass_csp=True, viewport={"width": 375, "height": 900})
    try:
        page = context.new_page()
        page.goto("/sign-in")
        page.get_by_label("Username").fill("newnurse2")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("heading", name="Set up your authenticator app").is_visible()
        assert _violations(page) == []
        # Nothing wider than a phone's screen (the setup link is long).
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()
