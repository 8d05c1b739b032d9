"""Single sign-on through an OpenID Connect provider (NHS CIS2 style), against a real provider.

The provider (``oidc_provider.py``) runs on uvicorn on a loopback port; joinedup talks to it over
real HTTP (discovery, token, JWKS) and checks a real RS256 ID token. A ``TestClient`` plays the
person's browser, following the redirects to the provider and back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey
from pydantic import SecretStr
from sqlalchemy import select

from joinedup.store import make_engine, make_session_factory, unit_of_work
from joinedup.store.tables.governance import AppUser, AuditEntry
from joinedup.web import create_app

from .conftest import WebHome, screenshot
from .oidc_provider import CLIENT_ID, CLIENT_SECRET, IdentityProvider, build_provider_app
from .threaded_server import serve_in_thread

PROVIDER_NAME = "NHS Care Identity"


@pytest.fixture(scope="module")
def provider() -> Iterator[IdentityProvider]:
    """The identity provider, live on a loopback port."""
    identity = IdentityProvider()
    with serve_in_thread(build_provider_app(identity), name="oidc-provider") as base_url:
        identity.issuer = base_url
        yield identity


@pytest.fixture(autouse=True)
def _untampered(provider: IdentityProvider) -> Iterator[None]:
    provider.tamper = {}
    provider.username = "gp1"
    yield
    provider.tamper = {}


@pytest.fixture(scope="module")
def sso_app(web_home: WebHome, provider: IdentityProvider) -> FastAPI:
    """joinedup configured for single sign-on with the provider, on the seeded home (plus a leaver)."""
    engine = make_engine(web_home.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        if session.scalar(select(AppUser).where(AppUser.username == "leaver1")) is None:
            session.add(AppUser(user_id="user-leaver1", username="leaver1", role="gp", org_code="P00001",
                                password_hash="unused", failed_sign_in_count=0, active_flag=False))
    engine.dispose()
    settings = web_home.settings.model_copy(update={
        "oidc_issuer": provider.issuer, "oidc_client_id": CLIENT_ID, "oidc_client_secret": SecretStr(CLIENT_SECRET),
        "oidc_provider_name": PROVIDER_NAME,
    })
    return create_app(settings)


@pytest.fixture
def browser_client(sso_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(sso_app, base_url="https://testserver") as client:
        yield client


def _sign_in_through_provider(client: TestClient) -> Any:
    """Press the button, let the provider approve, come back: the response of joinedup's callback."""
    start = client.get("/sign-in/oidc", params={"next": "/practice"}, follow_redirects=False)
    assert start.status_code == 303
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert back.path == "/sign-in/oidc/callback"
    return client.get(f"{back.path}?{back.query}", follow_redirects=False)


def _sign_ins(web_home: WebHome, username: str) -> list[tuple[str, str]]:
    engine = make_engine(web_home.database_url)
    with make_session_factory(engine)() as session:
        rows = session.execute(
            select(AuditEntry.outcome, AuditEntry.detail)
            .where(AuditEntry.username == username, AuditEntry.action == "sign_in")
            .order_by(AuditEntry.sequence)
        ).all()
    engine.dispose()
    return [(outcome, detail) for outcome, detail in rows]


def test_the_sign_in_page_offers_the_provider_only_when_configured(browser_client: TestClient,
                                                                    client: TestClient) -> None:
    assert f"Sign in with {PROVIDER_NAME}" in browser_client.get("/sign-in").text
    assert "Sign in with" not in client.get("/sign-in").text
    assert client.get("/sign-in/oidc", follow_redirects=False).status_code == 404


def test_the_request_to_the_provider_is_a_code_flow_with_pkce_state_and_nonce(browser_client: TestClient) -> None:
    start = browser_client.get("/sign-in/oidc", follow_redirects=False)
    sent = parse_qs(urlsplit(start.headers["location"]).query)
    assert sent["response_type"] == ["code"]
    assert sent["client_id"] == [CLIENT_ID]
    assert sent["scope"] == ["openid profile email"]
    assert sent["redirect_uri"] == ["https://testserver/sign-in/oidc/callback"]
    assert sent["code_challenge_method"] == ["S256"]
    assert len(sent["code_challenge"][0]) == 43
    assert len(sent["state"][0]) >= 32
    assert len(sent["nonce"][0]) >= 32
    assert sent["state"] != sent["nonce"]


def test_a_member_of_staff_signs_in_through_the_provider(browser_client: TestClient, web_home: WebHome,
                                                          provider: IdentityProvider) -> None:
    before = len(_sign_ins(web_home, "gp1"))
    answer = _sign_in_through_provider(browser_client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/practice"
    # The session is joinedup's own: the home page greets the user governance knows.
    assert "Welcome, gp1" in browser_client.get("/").text
    # No TOTP asked: the provider's own second factor counts.
    assert provider.token_requests > 0
    after = _sign_ins(web_home, "gp1")
    assert len(after) == before + 1
    assert after[-1] == ("allowed", f"single sign-on via {PROVIDER_NAME} (second factor by the provider)")


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"nonce": "a-nonce-this-sign-in-never-sent"}, "id_token_invalid_claim:nonce"),
        ({"aud": "another-relying-party"}, "id_token_invalid_claim:aud"),
        ({"exp_offset": -3600}, "id_token_expired_token:exp"),
        ({"state": "a-state-this-sign-in-never-sent"}, "state_mismatch"),
        ({"sign_with": RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})}, "id_token_bad_signature"),
    ],
    ids=["wrong nonce", "wrong audience", "expired", "state mismatch", "signed by another key"],
)
def test_an_id_token_that_fails_a_check_is_refused(
    browser_client: TestClient, provider: IdentityProvider, tamper: dict[str, Any], reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider.tamper = tamper
    with caplog.at_level(logging.WARNING, logger="joinedup.web.routes.oidc"):
        answer = _sign_in_through_provider(browser_client)
    assert answer.status_code == 401
    # Refused for this reason and no other (the log says why; the page does not tell an attacker).
    assert [record.getMessage() for record in caplog.records] == [f"single sign-on refused: reason={reason}"]
    assert f"{PROVIDER_NAME} did not confirm who you are" in answer.text
    assert "Welcome" not in browser_client.get("/").text
    assert browser_client.get("/practice", follow_redirects=False).status_code == 303


def test_a_callback_with_no_sign_in_in_progress_is_refused(browser_client: TestClient) -> None:
    answer = browser_client.get("/sign-in/oidc/callback", params={"code": "x", "state": "y"}, follow_redirects=False)
    assert answer.status_code == 401
    assert "did not confirm who you are" in answer.text


@pytest.mark.parametrize(
    ("username", "message", "audited"),
    [
        ("nobody-in-joinedup", "you do not have a joinedup account", None),
        ("leaver1", "Your joinedup account is deactivated", f"single sign-on via {PROVIDER_NAME}: deactivated"),
    ],
)
def test_governance_still_decides_who_comes_in(
    browser_client: TestClient, provider: IdentityProvider, web_home: WebHome,
    username: str, message: str, audited: str | None,
) -> None:
    provider.username = username
    before = _sign_ins(web_home, username)
    answer = _sign_in_through_provider(browser_client)
    assert answer.status_code == 401
    assert message in answer.text
    assert "Welcome" not in browser_client.get("/").text
    after = _sign_ins(web_home, username)
    if audited is None:
        assert after == before  # nobody to attribute an entry to; the log has the reason code
    else:
        assert after == [*before, ("denied", audited)]


@pytest.mark.browser
def test_the_button_signs_a_member_of_staff_in_from_a_real_browser(browser: Any, sso_app: FastAPI) -> None:
    with serve_in_thread(sso_app, name="joinedup-sso") as base_url:
        context = browser.new_context(base_url=base_url)
        page = context.new_page()
        try:
            page.goto("/practice")
            assert urlsplit(page.url).path == "/sign-in"
            page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
            page.wait_for_url(f"{base_url}/practice")
            assert page.get_by_text("gp1").first.is_visible()
            screenshot(page, "single-sign-on-landed")
        finally:
            context.close()
