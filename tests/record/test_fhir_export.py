"""FHIR R4 from the record: resources validate (fhir.resources R4B), searches page, $everything is whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, InvalidInput, NotFound
from joinedup.record import (
    code_system_uri,
    everything_bundle,
    parse_date_parameter,
    read_resource,
    search_bundle,
    search_resources,
)

from .seed import ANN, PRACTICE_ANN, PRACTICE_OTHER, SeededRecord, actor, seed_record


@pytest.fixture
def seeded(session: Session) -> SeededRecord:
    return seed_record(session)


def test_everything_is_whole_and_valid_r4(session: Session, seeded: SeededRecord) -> None:
    bundle = everything_bundle(session, actor=actor("gp", org=PRACTICE_ANN), person_id=ANN, base_url="https://x/fhir")
    types = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert types.count("Encounter") == 4
    assert types.count("Observation") == 21
    assert types.count("MedicationRequest") == 5
    assert types.count("Condition") == 6
    assert bundle["total"] == 39
    Bundle.model_validate(bundle)
    medicine = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] and
                    e["resource"]["resourceType"] == "MedicationRequest" and
                    e["resource"].get("dosageInstruction") == [{"text": "500mg three times a day"}])
    assert medicine["medicationCodeableConcept"]["coding"][0] == {
        "system": "https://dmd.nhs.uk", "code": "325278007", "display": "Metformin 500mg tablets"
    }
    assert medicine["meta"]["source"] == "urn:joinedup:source:hospital-pas"


def test_everything_for_an_administrator_names_what_was_left_out(session: Session, seeded: SeededRecord) -> None:
    bundle = everything_bundle(session, actor=actor("practice_administrator", org=PRACTICE_ANN), person_id=ANN)
    types = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert types.count("Encounter") == 4
    assert "Condition" not in types
    outcome = bundle["entry"][-1]
    assert outcome["search"]["mode"] == "outcome"
    assert "Condition" in outcome["resource"]["issue"][0]["diagnostics"]
    encounter = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter")
    assert "reasonCode" not in encounter
    assert "hospitalization" not in encounter
    Bundle.model_validate(bundle)


def test_read_checks_the_person_behind_the_item(session: Session, seeded: SeededRecord) -> None:
    resource = read_resource(
        session, actor=actor("gp", org=PRACTICE_ANN), resource_type="Encounter", resource_id=str(seeded.admission_id)
    )
    assert resource["subject"] == {"reference": f"Patient/{ANN}"}
    assert resource["status"] == "in-progress"
    with pytest.raises(AccessDenied):
        read_resource(session, actor=actor("gp", org=PRACTICE_OTHER), resource_type="Encounter",
                      resource_id=str(seeded.admission_id))
    with pytest.raises(NotFound):
        read_resource(session, actor=actor("gp", org=PRACTICE_ANN), resource_type="Encounter", resource_id="x1")


def test_search_pages_and_dates(session: Session, seeded: SeededRecord) -> None:
    gp = actor("gp", org=PRACTICE_ANN)
    page = search_resources(session, actor=gp, resource_type="Encounter", patient=f"Patient/{ANN}", count=3)
    assert (page.total, len(page.resources)) == (4, 3)
    bundle = search_bundle(page, base_url="https://x/fhir", query=[("patient", ANN)])
    assert [link["relation"] for link in bundle["link"]] == ["self", "next"]
    # The admission (2 days ago) and the A&E attendance (10 days ago) are within 15 days.
    recent = search_resources(session, actor=gp, resource_type="Encounter", patient=ANN,
                              dates=[f"ge{(seeded.now - timedelta(days=15)).date().isoformat()}"])
    assert recent.total == 2
    with pytest.raises(InvalidInput):
        search_resources(session, actor=gp, resource_type="Encounter")


@pytest.mark.parametrize(
    ("raw", "prefix", "start", "end"),
    [
        ("ge2024-01-01", "ge", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024", "eq", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        ("lt2024-12", "lt", datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_date_parameters(raw: str, prefix: str, start: datetime, end: datetime) -> None:
    assert parse_date_parameter(raw) == (prefix, start, end)


def test_bad_date_parameter() -> None:
    with pytest.raises(InvalidInput):
        parse_date_parameter("ge2024-13-45")


def test_code_systems() -> None:
    assert code_system_uri("SNOMED") == "http://snomed.info/sct"
    assert code_system_uri("dm+d") == "https://dmd.nhs.uk"
    assert code_system_uri("http://loinc.org") == "http://loinc.org"
    assert code_system_uri("Local Lab") == "urn:joinedup:code-system:local-lab"
