"""Standing test: every route of the app (every area's) refuses anonymous callers, and every route
about one person refuses an unrelated user, with the refusal in the audit trail.

Routes are enumerated from the running app, so a new route is checked the day it is added.
A route that is public on purpose goes in ``PUBLIC``; a path parameter this test cannot fill
for Ann's record goes in ``PERSON_PARAMETERS`` (then the unrelated-user check applies to it).
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from joinedup.store import make_engine, make_session_factory
from joinedup.store.tables import Encounter
from joinedup.store.tables.governance import AuditEntry
from record.seed import ANN

from .conftest import WebHome, csrf_from

# (method, path template) reachable without signing in, on purpose.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    # The second half of a staff sign-in (authenticator enrolment): no session until it succeeds.
    ("GET", "/sign-in/authenticator"),
    ("POST", "/sign-in/authenticator"),
    ("POST", "/sign-out"),
    ("POST", "/auth/token"),
    ("GET", "/fhir/metadata"),
    # SMART discovery, and an app's authorisation request (checked, then sign-in is asked for).
    ("GET", "/.well-known/smart-configuration"),
    ("GET", "/fhir/.well-known/smart-configuration"),
    ("GET", "/auth/authorize"),
    # Single sign-on: the way to sign in, and the provider's answer.
    ("GET", "/sign-in/oidc"),
    ("GET", "/sign-in/oidc/callback"),
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Path parameters that name a person or one of their record items.
PERSON_PARAMETERS = {"person_id", "resource_id"}


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every API route, with the prefixes of included routers."""
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.route, APIRoute) and context.methods:
            found.extend((method, context.path) for method in sorted(set(context.methods) - {"HEAD", "OPTIONS"}))
    return found


@pytest.fixture(scope="module")
def person_parameters(web_home: WebHome) -> dict[str, str]:
    """Values that point every known path parameter at Ann's record."""
    engine = make_engine(web_home.database_url)
    with make_session_factory(engine)() as session:
        encounter_id = session.scalar(select(Encounter.encounter_id).where(Encounter.source_record_id == "SPELL-1"))
    engine.dispose()
    return {"person_id": ANN, "resource_type": "Encounter", "resource_id": str(encounter_id)}


def _fill(path: str, values: dict[str, str]) -> str | None:
    names = re.findall(r"{(\w+)(?::\w+)?}", path)
    if any(name not in values for name in names):
        return None
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: values[m.group(1)], path)


def test_the_app_has_the_routes_this_test_expects(app: FastAPI) -> None:
    routes = set(_routes(app))
    for expected in [("GET", "/patients/{person_id}"), ("GET", "/fhir/{resource_type}/{resource_id}"),
                     ("GET", "/api/patients/{person_id}"), ("GET", "/portal"), ("GET", "/integration")]:
        assert expected in routes


def test_anonymous_callers_are_refused_everywhere(app: FastAPI, person_parameters: dict[str, str]) -> None:
    filler = {**person_parameters}
    checked = 0
    with TestClient(app, base_url="https://testserver") as anonymous:
        for method, path in _routes(app):
            if (method, path) in PUBLIC:
                continue
            url = _fill(path, filler) or re.sub(r"{(\w+)(?::\w+)?}", "1", path)
            response = anonymous.request(method, url, follow_redirects=False)
            if method in UNSAFE:
                # Refused before anything else: no session, so no CSRF token (403) or no user (401/303).
                assert response.status_code in (303, 401, 403), (method, path, response.status_code)
            elif path.startswith(("/api", "/fhir")):
                assert response.status_code == 401, (method, path, response.status_code)
            else:
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"].startswith("/sign-in?next="), (method, path)
            checked += 1
    assert checked >= 12


def _refusals(web_home: WebHome, username: str) -> int:
    engine = make_engine(web_home.database_url)
    with make_session_factory(engine)() as session:
        count = session.scalar(
            select(func.count()).select_from(AuditEntry).where(
                AuditEntry.username == username, AuditEntry.outcome.in_(("denied", "not_found"))
            )
        )
    engine.dispose()
    return count or 0


def test_unrelated_user_is_refused_on_every_route_about_a_person(
    app: FastAPI, signed_in: object, web_home: WebHome, person_parameters: dict[str, str]
) -> None:
    """gp2 works at another practice and has no relationship with Ann."""
    client: TestClient = signed_in("gp2")  # type: ignore[operator]
    token = csrf_from(client.get("/sign-out").text)
    checked = []
    for method, path in _routes(app):
        if (method, path) in PUBLIC or not PERSON_PARAMETERS & set(re.findall(r"{(\w+)", path)):
            continue
        url = _fill(path, person_parameters)
        if url is None:
            continue
        before = _refusals(web_home, "gp2")
        headers = {"X-CSRF-Token": token} if method in UNSAFE else {}
        response = client.request(method, url, headers=headers, follow_redirects=False)
        assert response.status_code in (403, 404), (method, path, response.status_code)
        assert _refusals(web_home, "gp2") > before, f"no audit entry for the refusal of {method} {path}"
        checked.append(path)
    assert {"/patients/{person_id}", "/fhir/{resource_type}/{resource_id}", "/api/patients/{person_id}",
            "/fhir/Patient/{person_id}/$everything"} <= set(checked)


@pytest.mark.parametrize(("username", "path"), [("gp2", "/integration"), ("gp1", "/api/integration/status"),
                                                ("gp1", "/portal"), ("ann", "/patients/per-bob")])
def test_role_pages_refuse_other_roles(signed_in: object, username: str, path: str) -> None:
    client: TestClient = signed_in(username)  # type: ignore[operator]
    assert client.get(path).status_code == 403


def test_unrelated_user_searching_a_persons_record_is_refused_and_audited(
    signed_in: object, web_home: WebHome
) -> None:
    client: TestClient = signed_in("gp2")  # type: ignore[operator]
    before = _refusals(web_home, "gp2")
    assert client.get(f"/fhir/Encounter?patient={ANN}").status_code == 403
    assert _refusals(web_home, "gp2") == before + 1
