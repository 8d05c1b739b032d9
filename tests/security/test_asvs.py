"""OWASP ASVS level 2 items that apply to the web app, checked against the running app (TestClient).

Already covered in ``tests/web`` and not repeated here: CSRF on sign-in and the JSON API
(test_sign_in, test_api), lock-out, open redirects, security headers on pages, authorisation of
every route for anonymous and unrelated users (test_route_access), no identifiers in logs
(test_logging). This file adds: Argon2id storage, session fixation and idle expiry, TOTP for
staff, output encoding of patient-entered text, headers on API/FHIR/error responses, CSRF on
every state-changing form route, identifiers kept out of URLs, and rate limiting (a reported gap).
"""

from __future__ import annotations

import base64
import json
import re
import time
import warnings

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from itsdangerous import TimestampSigner
from sqlalchemy import select

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from joinedup.governance.totp import totp_code
from joinedup.governance.users import enrol_totp
from joinedup.store import make_engine, make_session_factory, unit_of_work
from joinedup.store.tables.coordination import PatientPassport
from joinedup.store.tables.governance import AppUser
from joinedup.web.auth import SESSION_ABSOLUTE_SECONDS, SESSION_COOKIE, SESSION_IDLE_SECONDS
from record.seed import ANN
from web.conftest import PASSWORD, WebHome, csrf_from, sign_in

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _store(web_home: WebHome) -> make_session_factory:  # type: ignore[valid-type]
    return make_session_factory(make_engine(web_home.database_url))


def test_passwords_are_stored_as_argon2id_hashes_only(web_home: WebHome) -> None:
    with _store(web_home)() as session:
        hashes = session.scalars(select(AppUser.password_hash)).all()
    assert hashes, "no users seeded"
    assert all(h.startswith("$argon2id$v=19$") for h in hashes)
    assert not any(PASSWORD in h for h in hashes)


def test_sign_in_replaces_the_session_so_a_planted_cookie_is_worthless(client: TestClient, app: FastAPI) -> None:
    page = client.get("/sign-in")
    before_cookie = client.cookies.get(SESSION_COOKIE)
    before_csrf = csrf_from(page.text)
    assert before_cookie
    assert sign_in(client, "gp1").status_code == 303
    after_cookie = client.cookies.get(SESSION_COOKIE)
    assert after_cookie
    assert after_cookie != before_cookie
    assert csrf_from(client.get("/patients").text) != before_csrf
    # Someone holding the pre-sign-in cookie (fixation) is not signed in by the victim's sign-in.
    with TestClient(app, base_url="https://testserver") as attacker:
        response = attacker.get("/patients", headers={"cookie": f"{SESSION_COOKIE}={before_cookie}"},
                                follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in")


def _session_cookie(web_home: WebHome, age_seconds: int, data: dict[str, object]) -> str:
    """A session cookie as Starlette signs it, issued ``age_seconds`` ago."""
    key = web_home.settings.secret("session_key").get_secret_value()

    class Backdated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    return Backdated(key).sign(base64.b64encode(json.dumps(data).encode())).decode()


def _signed_in_get(app: FastAPI, cookie: str) -> tuple[int, str]:
    with TestClient(app, base_url="https://testserver") as fresh:
        page = fresh.get("/patients", headers={"cookie": f"{SESSION_COOKIE}={cookie}"}, follow_redirects=False)
        return page.status_code, page.headers.get("location", "")


def test_a_session_idle_past_30_minutes_is_refused(web_home: WebHome, app: FastAPI) -> None:
    assert SESSION_IDLE_SECONDS == 30 * 60
    now = int(time.time())
    data = {"user_id": "user-gp2", "signed_in_at": now - 29 * 60, "csrf_token": "t"}
    assert _signed_in_get(app, _session_cookie(web_home, 29 * 60, data)) == (200, "")
    status, location = _signed_in_get(app, _session_cookie(web_home, 31 * 60, data))
    assert status == 303
    assert location.startswith("/sign-in")


def test_a_session_older_than_12_hours_is_refused_even_if_active(web_home: WebHome, app: FastAPI) -> None:
    assert SESSION_ABSOLUTE_SECONDS == 12 * 60 * 60
    now = int(time.time())
    active = {"user_id": "user-gp2", "signed_in_at": now - 11 * 3600, "csrf_token": "t"}
    assert _signed_in_get(app, _session_cookie(web_home, 60, active)) == (200, "")
    too_old = {**active, "signed_in_at": now - 12 * 3600 - 60}
    status, location = _signed_in_get(app, _session_cookie(web_home, 60, too_old))
    assert status == 303
    assert location.startswith("/sign-in")


def test_staff_enrolled_in_totp_cannot_sign_in_without_the_current_code(client: TestClient,
                                                                        web_home: WebHome) -> None:
    with unit_of_work(_store(web_home)) as session:
        secret = enrol_totp(session, username="nurse1")
    assert sign_in(client, "nurse1").status_code == 401
    page = client.get("/sign-in")
    wrong = str((int(totp_code(secret)) + 1) % 10**6).zfill(6)
    refused = client.post("/sign-in", data={"username": "nurse1", "password": PASSWORD, "security_code": wrong,
                                            "csrf_token": csrf_from(page.text), "next": "/"}, follow_redirects=False)
    assert refused.status_code == 401
    page = client.get("/sign-in")
    accepted = client.post("/sign-in", data={"username": "nurse1", "password": PASSWORD,
                                             "security_code": totp_code(secret), "csrf_token": csrf_from(page.text),
                                             "next": "/"}, follow_redirects=False)
    assert accepted.status_code == 303


@pytest.mark.xfail(strict=True, reason="GAP reported: TOTP is enforced only for staff who enrolled; "
                   "enrolment is not required for staff roles (ASVS 2.7/V6 L2)")
def test_staff_who_never_enrolled_in_totp_are_not_let_in_on_a_password_alone(client: TestClient) -> None:
    assert sign_in(client, "consultant1").status_code != 303


def test_patient_entered_passport_text_is_escaped_on_every_page(web_home: WebHome, signed_in: object) -> None:
    with unit_of_work(_store(web_home)) as session:
        passport = session.get(PatientPassport, ANN) or PatientPassport(person_id=ANN, updated_by="user-ann")
        passport.consent_given_flag = True
        passport.what_happened = XSS
        passport.who_matters = XSS
        session.add(passport)
    shown = 0
    for username in ("gp1", "ann", "volunteer1", "sysadmin"):
        client = signed_in(username)  # type: ignore[operator]
        for path in (f"/discharge/patients/{ANN}/passport", f"/discharge/patients/{ANN}/passport/print"):
            page = client.get(path)
            assert "<script>alert" not in page.text, path
            assert "<img src=x" not in page.text, path
            if page.status_code == 200 and "&lt;script&gt;alert(" in page.text:
                shown += 1
    assert shown >= 1, "nobody could see the passport: the escaping was not exercised"


def test_security_headers_on_api_fhir_and_error_responses(client: TestClient) -> None:
    for path in ("/api/openapi.json", "/fhir/metadata", "/no-such-page", "/sign-in"):
        response = client.get(path)
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "default-src 'self'" in headers["content-security-policy"], path
        assert headers["strict-transport-security"].startswith("max-age=31536000"), path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
    cookie = client.cookies.jar
    assert all(c.secure for c in cookie if c.name == SESSION_COOKIE)


def test_every_form_post_without_a_csrf_token_is_refused(app: FastAPI, signed_in: object) -> None:
    client = signed_in("gp1")  # type: ignore[operator]
    posts = [context.path for context in iter_route_contexts(app.routes)
             if isinstance(context.route, APIRoute) and "POST" in (context.methods or ())
             and not context.path.startswith("/auth/")]
    assert len(posts) > 10
    for template in posts:
        path = re.sub(r"\{[^}]+\}", "1", template)
        response = client.post(path, data={"x": "1"}, follow_redirects=False)
        assert response.status_code in (400, 403), f"{template} answered {response.status_code} without a token"


IDENTIFYING = {"nhs_number", "nhs", "name", "family", "given", "birth_date", "dob", "postcode", "address", "mrn"}


def test_no_identifier_is_taken_in_a_url(app: FastAPI) -> None:
    offending = []
    for context in iter_route_contexts(app.routes):
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        names = {p.name.lower() for p in route.dependant.path_params + route.dependant.query_params}
        # FHIR search by identifier/name is part of the FHIR standard (clients send it); the access log
        # records the route template only, never the URL, so those values still never reach a log.
        if context.path.startswith("/fhir"):
            continue
        if names & IDENTIFYING:
            offending.append((context.path, sorted(names & IDENTIFYING)))
    assert offending == []


@pytest.mark.xfail(strict=True, reason="GAP reported: no rate limiting of sign-in or search (ASVS 2.2.1); "
                   "only per-account lock-out after failed sign-ins")
def test_sign_in_is_rate_limited_per_client(client: TestClient) -> None:
    statuses = []
    for n in range(11):  # each attempt costs an Argon2 hash, so only a few
        page = client.get("/sign-in")
        statuses.append(client.post("/sign-in", data={"username": f"nobody{n}", "password": "x",
                                                      "csrf_token": csrf_from(page.text)}).status_code)
    assert 429 in statuses
