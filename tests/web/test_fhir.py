"""The FHIR R4 API: capability, read, search with paging, $everything, scopes, OperationOutcome.

Resources are checked against the R4 models of two independent libraries: ``fhir.resources``
(R4B models) and the SMART ``fhirclient`` (R4), the latter over real HTTP to the live server.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhirclient.models.bundle import Bundle as ClientBundle
from fhirclient.models.observation import Observation as ClientObservation
from fhirclient.models.patient import Patient as ClientPatient
from fhirclient.server import FHIRServer

from record.seed import ANN, ANN_NHS, SAM

from .conftest import bearer_token, sign_in


def _get(client: TestClient, token: str, path: str) -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_capability_statement_is_public_and_lists_the_resources(client: TestClient) -> None:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["fhirVersion"] == "4.0.1"
    assert [r["type"] for r in body["rest"][0]["resource"]] == [
        "Patient", "Encounter", "Condition", "Observation", "MedicationRequest", "AllergyIntolerance", "Procedure",
    ]
    CapabilityStatement.model_validate(body)


def test_read_patient_with_nhs_number_and_practice(client: TestClient) -> None:
    token = bearer_token(client, "gp1")
    patient = _get(client, token, f"/fhir/Patient/{ANN}").json()
    assert patient["identifier"] == [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": ANN_NHS}]
    assert patient["name"][0] == {"use": "official", "family": "Example", "given": ["Ann"]}
    assert patient["birthDate"] == "1948-03-02"
    assert patient["generalPractitioner"][0]["identifier"]["value"] == "P00001"
    assert patient["meta"]["source"] == "urn:joinedup:source:gp"


def test_search_observations_by_patient_and_date_with_paging(client: TestClient) -> None:
    token = bearer_token(client, "gp1", scope="user/Observation.read")
    first = _get(client, token, f"/fhir/Observation?patient=Patient/{ANN}&_count=10").json()
    # 3 HbA1c + 3 blood pressure + 15 weights.
    assert first["total"] == 21
    assert len(first["entry"]) == 10
    next_link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert "_offset=10" in next_link
    third = _get(client, token, f"/fhir/Observation?patient={ANN}&_count=10&_offset=20").json()
    assert len(third["entry"]) == 1
    assert not [x for x in third["link"] if x["relation"] == "next"]
    # The telehealth weights were all in the last 16 days; HbA1c and BP were earlier.
    recent = _get(client, token, f"/fhir/Observation?patient={ANN}&date=ge{_days_ago(16)}").json()
    assert recent["total"] == 15
    Bundle.model_validate(first)


def _days_ago(days: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()


def test_scopes_narrow_what_a_token_may_read(client: TestClient) -> None:
    token = bearer_token(client, "gp1", scope="user/Patient.read")
    refused = _get(client, token, f"/fhir/Observation?patient={ANN}")
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"
    everything = _get(client, token, f"/fhir/Patient/{ANN}/$everything").json()
    assert [e["resource"]["resourceType"] for e in everything["entry"]] == ["Patient"]


def test_everything_bundle_counts_and_validates(client: TestClient) -> None:
    token = bearer_token(client, "gp1")
    bundle = _get(client, token, f"/fhir/Patient/{ANN}/$everything").json()
    kinds: dict[str, int] = {}
    for entry in bundle["entry"]:
        kinds[entry["resource"]["resourceType"]] = kinds.get(entry["resource"]["resourceType"], 0) + 1
    # seed.py: 4 encounters; 6 conditions (GP may see the sealed one); 21 observations; 5 medicines; 2 allergies.
    assert kinds == {
        "Patient": 1, "Encounter": 4, "Condition": 6, "Observation": 21, "MedicationRequest": 5,
        "AllergyIntolerance": 2,
    }
    Bundle.model_validate(bundle)


def test_everything_for_a_practice_nurse_leaves_out_sealed_items(client: TestClient) -> None:
    token = bearer_token(client, "nurse1")
    bundle = _get(client, token, f"/fhir/Patient/{ANN}/$everything").json()
    conditions = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]
    assert len(conditions) == 5


def test_errors_are_operation_outcomes(client: TestClient) -> None:
    token = bearer_token(client, "gp2")
    denied = _get(client, token, f"/fhir/Patient/{ANN}")
    assert denied.status_code == 403
    assert denied.json()["resourceType"] == "OperationOutcome"
    assert "no care relationship" in denied.json()["issue"][0]["diagnostics"]
    gp1 = bearer_token(client, "gp1")
    assert _get(client, gp1, f"/fhir/Patient/{SAM}").status_code == 404
    assert _get(client, gp1, "/fhir/Encounter/999999").status_code == 404
    assert _get(client, gp1, "/fhir/Basic/1").status_code == 404
    missing = _get(client, gp1, "/fhir/Observation")
    assert missing.status_code == 422
    assert "patient parameter" in missing.json()["issue"][0]["diagnostics"]
    bad_count = _get(client, gp1, f"/fhir/Observation?patient={ANN}&_count=abc")
    assert bad_count.status_code == 422
    assert "abc" not in bad_count.text
    anonymous = client.get(f"/fhir/Patient/{ANN}")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


def test_patient_search_by_nhs_number(client: TestClient) -> None:
    token = bearer_token(client, "gp1")
    found = _get(client, token, f"/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{ANN_NHS}").json()
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["id"] == ANN


def test_browser_session_may_call_the_api(client: TestClient) -> None:
    sign_in(client, "gp1")
    assert client.get(f"/fhir/Patient/{ANN}").json()["id"] == ANN


@pytest.mark.browser
def test_fhirclient_reads_and_searches_over_http(client: TestClient, live_server: str) -> None:
    """The SMART fhirclient library (R4 models) parses what the live server sends."""
    server = FHIRServer(None, base_uri=f"{live_server}/fhir/")
    server.session.headers["Authorization"] = f"Bearer {bearer_token(client, 'gp1')}"
    patient = ClientPatient.read(ANN, server)
    assert patient.identifier[0].value == ANN_NHS
    assert patient.name[0].family == "Example"
    search = ClientObservation.where(struct={"patient": ANN, "_count": "5"})
    bundle = ClientBundle(server.request_json(search.construct()))
    assert bundle.total == 21
    assert len(bundle.entry) == 5
    assert all(isinstance(entry.resource, ClientObservation) for entry in bundle.entry)
    everything = ClientBundle(server.request_json(f"Patient/{ANN}/$everything"))
    assert len(everything.entry) == 39
