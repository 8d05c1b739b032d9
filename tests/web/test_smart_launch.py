"""SMART on FHIR standalone launch: discovery, the user's approval, the code exchange with PKCE.

The SMART ``fhirclient`` library plays the app against the live server and a real Chromium plays
the user; refusals are checked over ``TestClient`` (the app and the store are the same).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhirclient.client import FHIRClient
from fhirclient.models.bundle import Bundle as ClientBundle
from fhirclient.models.observation import Observation as ClientObservation
from fhirclient.models.patient import Patient as ClientPatient
from sqlalchemy import select

from joinedup.settings import SmartClient
from joinedup.store import make_engine, make_session_factory
from joinedup.store.tables.governance import AuditEntry
from joinedup.web import create_app
from record.seed import ANN, ANN_NHS

from .conftest import LIVE_APPS, PASSWORD, WebHome, csrf_from, screenshot, sign_in
from .threaded_server import serve_in_thread

APP_ID = "care-plan-viewer"
REDIRECT_URI = "https://app.example.test/callback"
AUD = "https://testserver/fhir"


@pytest.fixture(scope="module")
def smart_app(web_home: WebHome) -> FastAPI:
    """joinedup with one registered SMART app."""
    client = SmartClient(client_id=APP_ID, name="Care plan viewer", redirect_uris=[REDIRECT_URI])
    return create_app(web_home.settings.model_copy(update={"smart_clients": [client]}))


@pytest.fixture(scope="module")
def smart_server(smart_app: FastAPI) -> Iterator[str]:
    with serve_in_thread(smart_app, name="joinedup-smart") as base_url:
        LIVE_APPS[base_url] = smart_app
        yield base_url


@pytest.fixture
def user_agent(smart_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(smart_app, base_url="https://testserver") as client:
        yield client


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def _authorize(client: TestClient, scope: str, challenge: str, **changes: str) -> Any:
    params = {"response_type": "code", "client_id": APP_ID, "redirect_uri": REDIRECT_URI, "scope": scope,
              "state": "app-state-1", "aud": AUD, "code_challenge": challenge, "code_challenge_method": "S256"}
    params.update(changes)
    return client.get(f"/auth/authorize?{urlencode(params)}", follow_redirects=False)


def _approve(client: TestClient, scope: str, challenge: str) -> tuple[str, str]:
    """A signed-in user approves: returns the approval page's text and the code the app receives."""
    assert _authorize(client, scope, challenge).headers["location"] == "/auth/authorize/approve"
    page = client.get("/auth/authorize/approve")
    assert page.status_code == 200, page.text
    answer = client.post("/auth/authorize/approve", data={"decision": "approve", "csrf_token": csrf_from(page.text)},
                         follow_redirects=False)
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT_URI
    sent = parse_qs(back.query)
    assert sent["state"] == ["app-state-1"]
    return page.text, sent["code"][0]


def _exchange(client: TestClient, code: str, verifier: str, **changes: str) -> Any:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier, "client_id": APP_ID}
    form.update(changes)
    return client.post("/auth/token", data=form)


def test_discovery_documents_name_the_endpoints(user_agent: TestClient) -> None:
    document = user_agent.get("/.well-known/smart-configuration").json()
    assert document == user_agent.get("/fhir/.well-known/smart-configuration").json()
    assert document["authorization_endpoint"] == "https://testserver/auth/authorize"
    assert document["token_endpoint"] == "https://testserver/auth/token"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert {"launch-standalone", "client-public", "context-standalone-patient"} <= set(document["capabilities"])
    security = user_agent.get("/fhir/metadata").json()["rest"][0]["security"]
    [oauth] = security["extension"]
    assert {item["url"]: item["valueUri"] for item in oauth["extension"]} == {
        "authorize": document["authorization_endpoint"], "token": document["token_endpoint"]}
    assert "smart-configuration" in security["description"]


@pytest.mark.browser
def test_fhirclient_launches_standalone_for_a_patient_and_reads_her_record(
    browser: Any, smart_server: str, web_home: WebHome
) -> None:
    app = FHIRClient(settings={"app_id": APP_ID, "api_base": f"{smart_server}/fhir", "redirect_uri": REDIRECT_URI,
                               "scope": "launch/patient patient/*.read openid fhirUser"})
    context = browser.new_context(base_url=smart_server)
    page = context.new_page()
    arrived: list[str] = []

    def app_callback(route: Any) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>Back in the app</p>")

    try:
        page.route("https://app.example.test/**", app_callback)
        page.goto(app.authorize_url)
        # Not signed in yet: joinedup asks first, then comes back to the app's request.
        assert urlsplit(page.url).path == "/sign-in"
        page.get_by_label("Username").fill("ann")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Allow Care plan viewer to use joinedup for you?").is_visible()
        scopes = page.get_by_test_id("scopes").inner_text()
        assert "know that the record is yours" in scopes
        screenshot(page, "smart-approve-app")
        page.get_by_role("button", name="Allow", exact=True).click()
        page.wait_for_url("https://app.example.test/**")
    finally:
        context.close()

    app.handle_callback(arrived[0])
    assert app.patient_id == ANN
    patient = ClientPatient.read(app.patient_id, app.server)
    assert patient.identifier[0].value == ANN_NHS
    assert patient.name[0].family == "Example"
    search = ClientObservation.where(struct={"patient": app.patient_id, "_count": "5"})
    bundle = ClientBundle(app.server.request_json(search.construct()))
    assert bundle.total == 21  # seed.py: 3 HbA1c + 3 blood pressure + 15 weights
    assert all(isinstance(entry.resource, ClientObservation) for entry in bundle.entry)

    engine = make_engine(web_home.database_url)
    with make_session_factory(engine)() as session:
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.username == "ann", AuditEntry.action.in_(("authorise_app", "issue_token")))).all()
    engine.dispose()
    assert actions[-2:] == ["authorise_app", "issue_token"]


def test_scopes_are_narrowed_to_what_governance_allows_the_role(user_agent: TestClient) -> None:
    """A practice administrator sees demographics and appointments only (access.yml): so may their app."""
    assert sign_in(user_agent, "admin1").status_code == 303
    verifier, challenge = _pkce()
    page, code = _approve(user_agent, "user/*.read patient/*.read launch/patient user/Observation.write", challenge)
    assert "read demographics" in page
    assert "read results" not in page
    token = _exchange(user_agent, code, verifier).json()
    assert token["scope"] == "user/Encounter.read user/Patient.read"
    assert "patient" not in token
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert user_agent.get(f"/fhir/Observation?patient={ANN}", headers=headers).status_code == 403
    assert user_agent.get(f"/fhir/Patient/{ANN}", headers=headers).json()["id"] == ANN


def test_a_user_whose_role_reads_no_records_gives_the_app_nothing(user_agent: TestClient) -> None:
    assert sign_in(user_agent, "analyst1").status_code == 303
    _, challenge = _pkce()
    _authorize(user_agent, "user/*.read", challenge)
    answer = user_agent.get("/auth/authorize/approve", follow_redirects=False)
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_scope"]


def test_a_code_is_spent_by_a_wrong_verifier_and_cannot_be_reused(user_agent: TestClient) -> None:
    assert sign_in(user_agent, "gp1").status_code == 303
    verifier, challenge = _pkce()
    _, code = _approve(user_agent, "user/*.read", challenge)
    wrong = _exchange(user_agent, code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant",
                            "error_description": "the code_verifier does not match the code_challenge (PKCE S256)"}
    # Spent by the wrong try: the right verifier is too late.
    assert _exchange(user_agent, code, verifier).json()["error"] == "invalid_grant"

    verifier, challenge = _pkce()
    _, code = _approve(user_agent, "user/*.read", challenge)
    first = _exchange(user_agent, code, verifier)
    assert first.status_code == 200
    assert first.json()["scope"] == "user/*.read"
    reused = _exchange(user_agent, code, verifier)
    assert reused.status_code == 400
    assert reused.json()["error_description"] == "the authorisation code has already been used"


def test_a_code_is_bound_to_its_redirect_uri_and_app(user_agent: TestClient) -> None:
    assert sign_in(user_agent, "gp1").status_code == 303
    verifier, challenge = _pkce()
    _, code = _approve(user_agent, "user/*.read", challenge)
    wrong_uri = _exchange(user_agent, code, verifier, redirect_uri="https://app.example.test/elsewhere")
    assert wrong_uri.status_code == 400
    assert wrong_uri.json()["error_description"] == "the redirect_uri differs from the one the code was issued for"
    unknown_app = _exchange(user_agent, "any-code", verifier, client_id="not-registered")
    assert unknown_app.status_code == 401
    assert unknown_app.json()["error"] == "invalid_client"
    assert _exchange(user_agent, "never-issued", verifier).json()["error_description"] == (
        "the authorisation code is not known")


def test_bad_authorisation_requests_are_refused(user_agent: TestClient) -> None:
    _, challenge = _pkce()
    # An unregistered redirect URI is never followed: joinedup says so itself.
    unregistered = _authorize(user_agent, "user/*.read", challenge, redirect_uri="https://evil.example.test/cb")
    assert unregistered.status_code == 422
    assert "location" not in unregistered.headers
    for changes, error in (({"code_challenge_method": "plain"}, "invalid_request"),
                           ({"response_type": "token"}, "unsupported_response_type"),
                           ({"aud": "https://another-server.example.test/fhir"}, "invalid_request")):
        answer = _authorize(user_agent, "user/*.read", challenge, **changes)
        assert answer.status_code == 303
        assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == [error]


def test_the_user_may_refuse(user_agent: TestClient) -> None:
    assert sign_in(user_agent, "gp1").status_code == 303
    _, challenge = _pkce()
    _authorize(user_agent, "user/*.read", challenge)
    page = user_agent.get("/auth/authorize/approve")
    answer = user_agent.post("/auth/authorize/approve", data={"decision": "deny", "csrf_token": csrf_from(page.text)},
                             follow_redirects=False)
    assert parse_qs(urlsplit(answer.headers["location"]).query) == {"error": ["access_denied"],
                                                                     "state": ["app-state-1"]}
