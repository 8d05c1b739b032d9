"""Logs carry route templates and opaque ids, never identifiers (STYLE.md §7)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from record.seed import ANN, ANN_NHS

from .conftest import bearer_token, csrf_from


def test_no_identifier_reaches_the_logs(
    client: TestClient, signed_in: object, caplog: pytest.LogCaptureFixture
) -> None:
    gp: TestClient = signed_in("gp1")  # type: ignore[operator]
    token = bearer_token(client, "gp1")
    caplog.set_level(logging.DEBUG)
    search_form = gp.get("/patients")
    gp.post("/patients/search", data={"csrf_token": csrf_from(search_form.text), "nhs_number": ANN_NHS})
    gp.post("/patients/search", data={"csrf_token": csrf_from(search_form.text), "name": "Ann Example",
                                      "birth_day": "2", "birth_month": "3", "birth_year": "1948"})
    gp.get(f"/patients/{ANN}")
    client.get(f"/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{ANN_NHS}",
               headers={"Authorization": f"Bearer {token}"})
    client.get(f"/fhir/Observation?patient={ANN}&_count=notanumber", headers={"Authorization": f"Bearer {token}"})
    # httpx logs the test client's own requests (full URLs): that is the caller, not the server.
    text = "\n".join(record.getMessage() for record in caplog.records if record.name != "httpx")
    for identifier in (ANN_NHS, "943 476 5919", "Example", "EXAMPLE", "1948", "LS1 4AP", "notanumber"):
        assert identifier not in text, f"{identifier!r} reached the logs"
    access = [r.getMessage() for r in caplog.records if r.name == "joinedup.web.access"]
    assert "GET /patients/{person_id} 200" in " ".join(access)
    assert any(line.startswith("GET /fhir/{resource_type} 200") for line in access)
