"""The GP feed is FHIR R4 that a real validator accepts (fhir.resources, R4B models), and the
faults recorded as malformed are exactly the entries it rejects."""

from __future__ import annotations

import json

import orjson
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from joinedup.synth import EconomySummary
from joinedup.synth.nhs_numbers import is_valid

MODELS = {
    "Patient": "patient",
    "Encounter": "encounter",
    "Condition": "condition",
    "Observation": "observation",
    "MedicationRequest": "medicationrequest",
    "AllergyIntolerance": "allergyintolerance",
}


def _model(resource_type: str) -> type:
    module = __import__(f"fhir.resources.R4B.{MODELS[resource_type]}", fromlist=[resource_type])
    return getattr(module, resource_type)  # type: ignore[no-any-return]


@pytest.mark.parametrize("resource_type", list(MODELS))
def test_baseline_resources_validate_as_r4(
    economy: EconomySummary, faults_by_file: dict, resource_type: str
) -> None:
    path = f"gp/baseline/{resource_type}.ndjson"
    lines = (economy.out / path).read_text(encoding="utf-8").splitlines()
    assert lines, f"{path} is empty"
    model = _model(resource_type)
    checked = 0
    for position, line in enumerate(lines[:150], 1):
        if position in faults_by_file.get(path, {}):
            continue
        resource = model.model_validate_json(line)
        assert resource.get_resource_type() == resource_type
        checked += 1
    assert checked >= min(len(lines), 150) * 0.9


def test_daily_bundles_are_valid_transactions(economy: EconomySummary, faults_by_file: dict) -> None:
    days = sorted((economy.out / "gp" / "daily").iterdir())
    assert len(days) > 300  # activity nearly every day over three years
    clean = [d for d in days if f"gp/daily/{d.name}" not in faults_by_file][:12]
    ids = set()
    for path in clean:
        bundle = Bundle.model_validate_json(path.read_bytes())
        assert bundle.type == "transaction"
        assert bundle.id not in ids
        ids.add(bundle.id)
        for entry in bundle.entry:
            resource = entry.resource
            assert entry.request.method == "PUT"
            assert entry.request.url == f"{resource.get_resource_type()}/{resource.id}"
            assert entry.fullUrl == f"urn:uuid:{resource.id}"


def test_patients_carry_uk_core_nhs_number_and_practice(economy: EconomySummary, faults_by_file: dict) -> None:
    path = "gp/baseline/Patient.ndjson"
    lines = (economy.out / path).read_text(encoding="utf-8").splitlines()
    practices = {
        line.split(",")[0]
        for line in (economy.out / "reference" / "organisations.csv").read_text().splitlines()[1:]
        if ",gp_practice," in line
    }
    for position, line in enumerate(lines, 1):
        patient = orjson.loads(line)
        assert patient["generalPractitioner"][0]["identifier"]["value"] in practices
        if position in faults_by_file.get(path, {}):
            continue
        (identifier,) = patient["identifier"]
        assert identifier["system"] == "https://fhir.nhs.uk/Id/nhs-number"
        assert is_valid(identifier["value"])
        assert identifier["value"].startswith("999")
    Patient.model_validate_json(lines[0])


def test_entries_recorded_as_malformed_are_rejected_by_the_validator(
    economy: EconomySummary, faults_by_file: dict
) -> None:
    checked = 0
    for file, positions in faults_by_file.items():
        if not file.startswith("gp/daily/"):
            continue
        entries = json.loads((economy.out / file).read_text(encoding="utf-8"))["entry"]
        for position, rows in positions.items():
            if any(r["fault_kind"] == "malformed" for r in rows):
                resource = entries[position - 1]["resource"]
                assert resource["id"] == rows[0]["record_id"]
                with pytest.raises(ValidationError):
                    _model(resource["resourceType"]).model_validate(resource)
                checked += 1
    assert checked >= 5


def test_a_transaction_holds_each_resource_once(economy: EconomySummary) -> None:
    entries = 0
    for path in (economy.out / "gp" / "daily").iterdir():
        urls = [entry["fullUrl"] for entry in orjson.loads(path.read_bytes())["entry"]]
        assert len(urls) == len(set(urls)), path.name
        entries += len(urls)
    assert entries > 10_000
