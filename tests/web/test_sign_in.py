"""Signing in and out: sessions, CSRF, lock-out through governance, bearer tokens, security headers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from joinedup.store import make_engine, make_session_factory
from joinedup.store.tables.governance import AuditEntry

from .conftest import PASSWORD, WebHome, csrf_from, current_code, sign_in


def test_sign_in_starts_a_secure_session_and_sign_out_ends_it(client: TestClient) -> None:
    response = sign_in(client, "gp1")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "secure" in cookie
    assert "samesite=lax" in cookie

    home = client.get("/")
    assert "gp1 (gp)" in home.text
    assert 'href="/patients"' in home.text

    confirm = client.get("/sign-out")
    out = client.post("/sign-out", data={"csrf_token": csrf_from(confirm.text)}, follow_redirects=False)
    assert out.status_code == 303
    after = client.get("/patients", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/sign-in?next=")


def test_wrong_password_is_refused_without_saying_which_part(client: TestClient) -> None:
    response = sign_in(client, "nurse1", "not-the-password")
    assert response.status_code == 401
    assert "the username or password is wrong" in response.text
    unknown = sign_in(client, "nobody-at-all", "whatever-it-is")
    assert unknown.status_code == 401
    assert "the username or password is wrong" in unknown.text


def test_post_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/sign-in")
    response = client.post("/sign-in", data={"username": "gp1", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert "form has expired" in response.text


def test_lock_out_after_repeated_failures(client: TestClient, web_home: WebHome) -> None:
    for _ in range(5):
        assert sign_in(client, "lockme", "wrong-password-1").status_code == 401
    # The right password no longer works: governance locked the account.
    assert sign_in(client, "lockme").status_code == 401
    engine = make_engine(web_home.database_url)
    with make_session_factory(engine)() as session:
        outcomes = session.scalars(
            select(AuditEntry.outcome).where(AuditEntry.username == "lockme", AuditEntry.action == "sign_in")
        ).all()
    engine.dispose()
    assert outcomes == ["denied"] * 6


def test_open_redirects_are_refused(client: TestClient) -> None:
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"username": "gp1", "password": PASSWORD, "csrf_token": csrf_from(page.text), "next": "//evil.example",
              "security_code": current_code(client.app, "gp1")},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_security_headers_on_every_page(client: TestClient) -> None:
    response = client.get("/sign-in")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self' 'nonce-" in csp
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    asset = client.get("/assets/nhsuk-frontend.min.css")
    assert asset.status_code == 200
    assert asset.headers["cache-control"].startswith("public")


def test_bearer_token_and_scopes(client: TestClient) -> None:
    # Staff send their authenticator's code; a password alone gets no token.
    alone = client.post("/auth/token", data={"username": "gp1", "password": PASSWORD, "scope": "user/Patient.read"})
    assert (alone.status_code, alone.json()["error"]) == (400, "invalid_grant")
    response = client.post("/auth/token", data={"username": "gp1", "password": PASSWORD, "scope": "user/Patient.read",
                                                "totp": current_code(client.app, "gp1")})
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["scope"], body["expires_in"]) == ("Bearer", "user/Patient.read", 3600)
    refused = client.post("/auth/token", data={"username": "gp1", "password": "wrong-password-x"})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    bad = client.get("/fhir/Patient/per-ann", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert bad.json()["resourceType"] == "OperationOutcome"


def test_a_session_ends_twelve_hours_after_sign_in_however_active() -> None:
    from starlette.requests import HTTPConnection

    from joinedup.web.auth import session_user_id

    connection = HTTPConnection({"type": "http", "session": {"user_id": "u1", "signed_in_at": 1_000_000}})
    assert session_user_id(connection, now=1_000_000 + 11 * 3600) == "u1"
    assert session_user_id(connection, now=1_000_000 + 12 * 3600 + 1) is None
