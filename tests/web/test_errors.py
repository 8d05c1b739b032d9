"""Domain errors become the right status in the caller's shape: page, JSON, FHIR OperationOutcome."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from joinedup.errors import AccessDenied, Conflict, InvalidInput, NotFound

from .conftest import WebHome

ERRORS = {"conflict": (Conflict("the referral was already triaged"), 409),
          "invalid": (InvalidInput("reason: give a reason of 10 characters or more"), 422),
          "missing": (NotFound("no such referral"), 404),
          "denied": (AccessDenied("your role may not triage referrals"), 403)}


def _raiser(error: Exception) -> Callable[[], None]:
    def raise_it() -> None:
        raise error

    return raise_it


@pytest.fixture(scope="module")
def erring_client(web_home: WebHome) -> Iterator[TestClient]:
    """An app of its own whose routes raise each error (deep FHIR paths: /fhir/{type}/{id} is taken)."""
    from joinedup.web import create_app

    app: FastAPI = create_app(web_home.settings)
    for prefix in ("/x", "/api/x", "/fhir/x/y/z"):
        for name, (error, _) in ERRORS.items():
            app.add_api_route(f"{prefix}/{name}", _raiser(error), methods=["GET"])
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("name", list(ERRORS))
def test_each_error_in_each_shape(erring_client: TestClient, name: str) -> None:
    error, status = ERRORS[name]
    message = error.reason if isinstance(error, AccessDenied) else str(error)

    page = erring_client.get(f"/x/{name}")
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert message.replace("'", "&#39;") in page.text

    api = erring_client.get(f"/api/x/{name}")
    assert api.status_code == status
    assert api.json()["detail"] == message

    fhir = erring_client.get(f"/fhir/x/y/z/{name}")
    assert fhir.status_code == status
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    assert fhir.json()["issue"][0]["diagnostics"] == message
