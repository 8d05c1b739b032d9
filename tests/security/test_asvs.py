"""OWASP ASVS level 2 items that apply to the web app, checked against the running app (TestClient).

Already covered in ``tests/web`` and not repeated here: CSRF on sign-in and the JSON API
(test_sign_in, test_api), lock-out, open redirects, security headers on pages, authorisation of
every route for anonymous and unrelated users (test_route_access), no identifiers in logs
(test_logging). This file adds: Argon2id storage, session fixation and idle expiry, TOTP for
staff (compulsory: enrolment at first sign-in), output encoding of patient-entered text, headers on
API/FHIR/error responses, CSRF on every state-changing form route, identifiers kept out of URLs,
and the throttles on sign-in and search (each on an app with the default limits, or lower ones).
"""

from __future__ import annotations

import base64
import json
import re
import time
import warnings

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from itsdangerous import TimestampSigner
from sqlalchemy import select

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from joinedup.governance.totp import totp_code
from joinedup.governance.users import enrol_totp
from joinedup.settings import Settings, load_settings
from joinedup.store import make_engine, make_session_factory, unit_of_work
from joinedup.store.tables.coordination import PatientPassport
from joinedup.store.tables.governance import AppUser, AuditEntry
from joinedup.web import create_app
from joinedup.web.auth import SESSION_ABSOLUTE_SECONDS, SESSION_COOKIE, SESSION_IDLE_SECONDS
from record.seed import ANN
from web.conftest import PASSWORD, WebHome, bearer_token, csrf_from, secret_from_enrolment_page, sign_in

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
    assert sign_in(client, "nurse1", with_code=False).status_code == 401
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


def _new_staff_user(web_home: WebHome, username: str, role: str = "consultant") -> str:
    """A staff user who never enrolled an authenticator (password ``PASSWORD``); returns the user id."""
    with unit_of_work(_store(web_home)) as session:
        password_hash = session.scalar(select(AppUser.password_hash).where(AppUser.username == "gp1"))
        assert password_hash
        session.add(AppUser(user_id=f"user-{username}", username=username, role=role, org_code=None,
                            password_hash=password_hash, failed_sign_in_count=0, active_flag=True))
    return f"user-{username}"


def _is_signed_in(client: TestClient) -> bool:
    status: int = client.get("/patients", follow_redirects=False).status_code
    return status == 200


def test_staff_who_never_enrolled_in_totp_are_not_let_in_on_a_password_alone(client: TestClient,
                                                                             web_home: WebHome) -> None:
    user_id = _new_staff_user(web_home, "consultant-new")
    # The right password: the enrolment step, with a setup key and its otpauth URI, and no session.
    enrolment = sign_in(client, "consultant-new", with_code=False, enrol=False)
    assert enrolment.status_code == 200
    assert "Set up your authenticator app" in enrolment.text
    secret = secret_from_enrolment_page(enrolment.text)
    assert f"otpauth://totp/joinedup:consultant-new?secret={secret}&amp;issuer=joinedup" in enrolment.text
    assert not _is_signed_in(client)
    # Nor does the token endpoint give a token on the password alone.
    token = client.post("/auth/token", data={"username": "consultant-new", "password": PASSWORD})
    assert (token.status_code, token.json()["error"]) == (400, "invalid_grant")
    assert "authenticator" in token.json()["error_description"]

    wrong = str((int(totp_code(secret)) + 1) % 10**6).zfill(6)
    refused = client.post("/sign-in/authenticator", data={"security_code": wrong, "csrf_token": csrf_from(
        client.get("/sign-in/authenticator").text)}, follow_redirects=False)
    assert refused.status_code == 401
    assert "Enter the 6-digit code your authenticator app shows now" in refused.text
    assert not _is_signed_in(client)

    accepted = client.post("/sign-in/authenticator", data={"security_code": totp_code(secret),
                                                           "csrf_token": csrf_from(refused.text)},
                           follow_redirects=False)
    assert accepted.status_code == 303
    assert _is_signed_in(client)
    with _store(web_home)() as session:
        stored = session.get(AppUser, user_id)
        assert stored is not None
        assert stored.totp_secret == secret
        trail = session.execute(select(AuditEntry.action, AuditEntry.outcome, AuditEntry.detail)
                                .where(AuditEntry.user_id == user_id).order_by(AuditEntry.sequence)).all()
    assert [tuple(row) for row in trail] == [
        ("sign_in", "denied", "no second factor: authenticator enrolment offered"),
        ("sign_in", "denied", "no second factor: authenticator enrolment offered"),  # the token request
        ("sign_in", "denied", "wrong second-factor code at enrolment"),
        ("enrol_second_factor", "allowed", "totp"),
        ("sign_in", "allowed", ""),
    ]
    # Enrolled now: a password alone is refused like any enrolled user's, and the code lets them in.
    with TestClient(client.app, base_url="https://testserver") as again:
        assert sign_in(again, "consultant-new", with_code=False, enrol=False).status_code == 401
        assert sign_in(again, "consultant-new").status_code == 303


def test_patients_sign_in_with_a_password_alone(client: TestClient) -> None:
    assert sign_in(client, "ann", with_code=False, enrol=False).status_code == 303


def test_enrolled_staff_of_every_kind_need_their_code(client: TestClient) -> None:
    for username in ("analyst1", "sysadmin", "volunteer1"):
        assert sign_in(client, username, with_code=False, enrol=False).status_code == 401, username


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


def _app_with_default_limits(web_home: WebHome, **limits: int) -> FastAPI:
    """A fresh app (fresh counters) on the security home with the default throttles, or ``limits``."""
    return create_app(load_settings(home=web_home.settings.home, database_url=web_home.database_url, **limits))


def _throttle_audits(web_home: WebHome, action: str) -> list[tuple[str, str, str | None]]:
    with _store(web_home)() as session:
        rows = session.execute(select(AuditEntry.user_id, AuditEntry.detail, AuditEntry.client_address)
                               .where(AuditEntry.action == action, AuditEntry.detail.like("rate limited%"))
                               .order_by(AuditEntry.sequence)).all()
    return [(row[0], row[1], row[2]) for row in rows]


def test_the_default_limits_are_10_sign_in_attempts_and_60_searches_a_minute() -> None:
    defaults = Settings()
    assert (defaults.sign_in_attempts_per_minute, defaults.searches_per_minute) == (10, 60)
    assert defaults.require_staff_totp is True


def test_sign_in_is_rate_limited_per_client(web_home: WebHome) -> None:
    before = _throttle_audits(web_home, "sign_in")
    statuses = []
    with TestClient(_app_with_default_limits(web_home), base_url="https://testserver") as client:
        for n in range(12):  # each attempt costs an Argon2 hash, so only a few
            page = client.get("/sign-in")
            refused = client.post("/sign-in", data={"username": f"nobody{n}", "password": "x",
                                                    "csrf_token": csrf_from(page.text)})
            statuses.append(refused.status_code)
        # The 11th and 12th: too many from this client, whatever the username.
        assert statuses == [401] * 10 + [429] * 2
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["content-type"].startswith("text/html")
        assert "Too many attempts" in refused.text
        assert "There have been too many attempts to sign in." in refused.text
        assert "nhsuk-header" in refused.text
        # The token endpoint counts too, and answers machines in JSON.
        token = client.post("/auth/token", data={"username": "gp1", "password": PASSWORD})
        assert token.status_code == 429
        assert token.json()["code"] == "throttled"
        assert int(token.headers["retry-after"]) >= 1
    # One audit entry for the run of refusals (a flood must not flood the trail), by the web itself.
    assert _throttle_audits(web_home, "sign_in")[len(before):] == [
        ("system:web:rate-limit", "rate limited: over 10 sign-in attempts a minute per client", "testclient")]


def test_sign_in_is_rate_limited_per_username_from_any_address(web_home: WebHome) -> None:
    app = _app_with_default_limits(web_home)
    statuses = []
    for n in range(11):
        with TestClient(app, base_url="https://testserver", client=(f"203.0.113.{n + 1}", 50000)) as client:
            page = client.get("/sign-in")
            statuses.append(client.post("/sign-in", data={"username": "Nobody-Shared", "password": "x",
                                                          "csrf_token": csrf_from(page.text)}).status_code)
    assert statuses == [401] * 10 + [429]


def test_patient_searches_are_rate_limited_per_user(web_home: WebHome) -> None:
    before = _throttle_audits(web_home, "search")
    app = _app_with_default_limits(web_home, searches_per_minute=3)
    with TestClient(app, base_url="https://testserver") as client:
        assert sign_in(client, "gp2").status_code == 303
        token = bearer_token(client, "gp2", scope="user/Patient.read")
        csrf = csrf_from(client.get("/patients").text)
        found = [client.post("/patients/search", data={"nhs_number": "943 476 5919", "csrf_token": csrf})
                 for _ in range(3)]
        assert [page.status_code for page in found] == [200, 200, 200]
        page = client.post("/patients/search", data={"nhs_number": "943 476 5919", "csrf_token": csrf})
        assert page.status_code == 429
        assert 1 <= int(page.headers["retry-after"]) <= 60
        assert "You have searched for patients too many times in a minute." in page.text
        with TestClient(app, base_url="https://testserver") as machine:
            bearer = {"authorization": f"Bearer {token}"}
            api = machine.post("/api/patients/search", json={"nhs_number": "9434765919"}, headers=bearer)
            assert (api.status_code, api.json()["code"]) == (429, "throttled")
            fhir = machine.get("/fhir/Patient", params={"identifier": "https://fhir.nhs.uk/Id/nhs-number|9434765919"},
                               headers=bearer)
            assert fhir.status_code == 429
            assert fhir.json()["resourceType"] == "OperationOutcome"
            assert fhir.json()["issue"][0]["code"] == "throttled"
            assert int(fhir.headers["retry-after"]) >= 1
        # Another user is not held back by gp2's searches.
        with TestClient(app, base_url="https://testserver") as other:
            assert sign_in(other, "gp1").status_code == 303
            other_csrf = csrf_from(other.get("/patients").text)
            assert other.post("/patients/search", data={"nhs_number": "943 476 5919", "csrf_token": other_csrf}
                              ).status_code == 200
    assert _throttle_audits(web_home, "search")[len(before):] == [
        ("user-gp2", "rate limited: over 3 patient searches a minute", "testclient")]
