"""The JSON API: same record, same governance; OpenAPI documents it; writes need CSRF from browsers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from record.seed import ANN, ANN_NHS

from .conftest import bearer_token


def test_record_as_json(client: TestClient) -> None:
    token = bearer_token(client, "gp1")
    body = client.get(f"/api/patients/{ANN}", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["demographics"]["family_name"] == "Example"
    metformin = next(m for m in body["medications"] if m["code"] == "325278007")
    assert [ref["source"] for ref in metformin["sources"]] == ["gp", "hospital-pas"]
    assert metformin["dosage_differs"] is True
    assert body["location"]["place"] == "admitted"


def test_search_as_json_and_csrf_for_browser_sessions(client: TestClient, signed_in: object) -> None:
    token = bearer_token(client, "gp1")
    found = client.post("/api/patients/search", json={"nhs_number": ANN_NHS},
                        headers={"Authorization": f"Bearer {token}"})
    assert [m["person_id"] for m in found.json()] == [ANN]
    browser: TestClient = signed_in("gp1")  # type: ignore[operator]
    refused = browser.post("/api/patients/search", json={"nhs_number": ANN_NHS})
    assert refused.status_code == 403
    page = browser.get("/patients").text
    token_in_page = page.split('name="csrf-token" content="')[1].split('"')[0]
    allowed = browser.post("/api/patients/search", json={"nhs_number": ANN_NHS},
                           headers={"X-CSRF-Token": token_in_page})
    assert allowed.status_code == 200


def test_invalid_json_is_named_not_echoed(client: TestClient) -> None:
    token = bearer_token(client, "gp1")
    response = client.post("/api/patients/search", json={"nhs_number": ANN_NHS, "surname": "Secretname"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert "Secretname" not in response.text
    assert response.json()["detail"][0]["loc"] == ["body", "surname"]


def test_openapi_documents_the_api(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/patients/{person_id}", "/api/patients/search", "/fhir/{resource_type}", "/auth/token"} <= set(paths)
