"""The GP feed is FHIR R4 that a real validator accepts (fhir.resources, R4B models), and the
faults recorded as malformed are exactly the entries it rejects."""

from __future__ import annotations

import json
from datetime import date, timedelta

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


def _daily_bundles(economy: EconomySummary) -> list[tuple[str, int, bytes]]:
    """Every daily Bundle as (file, line, raw): one NDJSON file per day, one Bundle per line."""
    bundles = []
    for path in sorted((economy.out / "gp" / "daily").iterdir()):
        assert path.suffix == ".ndjson", path.name
        lines = path.read_bytes().split(b"\n")
        assert lines[-1] == b"", f"{path.name} ends with a newline"
        bundles.extend((f"gp/daily/{path.name}", number, line) for number, line in enumerate(lines[:-1], 1))
    return bundles


def _patient_of(resource: dict) -> str:
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    reference = (resource.get("subject") or resource.get("patient"))["reference"]
    return str(reference.removeprefix("Patient/"))


def test_daily_bundles_are_valid_transactions(economy: EconomySummary, faults_by_file: dict) -> None:
    days = list((economy.out / "gp" / "daily").iterdir())
    assert len(days) > 300  # activity nearly every day over three years
    bundles = _daily_bundles(economy)
    clean = [raw for file, line, raw in bundles if line not in faults_by_file.get(file, {})]
    assert len(clean) > len(bundles) * 0.9
    for raw in clean[:300]:
        bundle = Bundle.model_validate_json(raw)
        assert bundle.type == "transaction"
        for entry in bundle.entry:
            resource = entry.resource
            assert entry.request.method == "PUT"
            assert entry.request.url == f"{resource.get_resource_type()}/{resource.id}"
            assert entry.fullUrl == f"urn:uuid:{resource.id}"
    ids = [orjson.loads(raw)["id"] for _, _, raw in bundles]
    assert len(ids) == len(set(ids)), "a Bundle id is unique per send"


def test_a_daily_bundle_holds_one_patients_changes(economy: EconomySummary) -> None:
    days_of_patient: dict[str, set[str]] = {}
    for file, _, raw in _daily_bundles(economy):
        patients = {_patient_of(entry["resource"]) for entry in orjson.loads(raw)["entry"]}
        assert len(patients) == 1, f"{file}: one patient per Bundle"
        (patient,) = patients
        assert file not in days_of_patient.setdefault(patient, set()), f"{file}: one Bundle per patient a day"
        days_of_patient[patient].add(file)
    assert len(days_of_patient) > 500


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
        lines = (economy.out / file).read_text(encoding="utf-8").splitlines()
        for position, rows in positions.items():
            entries = {entry["resource"]["id"]: entry["resource"] for entry in json.loads(lines[position - 1])["entry"]}
            for row in rows:
                resource = entries[row["record_id"]]  # the line of the faults file holds the faulty record
                if row["fault_kind"] == "malformed":
                    with pytest.raises(ValidationError):
                        _model(resource["resourceType"]).model_validate(resource)
                    checked += 1
    assert checked >= 5


def test_a_transaction_holds_each_resource_once(economy: EconomySummary) -> None:
    entries = 0
    for file, line, raw in _daily_bundles(economy):
        urls = [entry["fullUrl"] for entry in orjson.loads(raw)["entry"]]
        assert len(urls) == len(set(urls)), f"{file}:{line}"
        entries += len(urls)
    assert entries > 10_000


def test_a_duplicate_comes_again_in_the_patients_next_day_bundle(
    economy: EconomySummary, faults_by_file: dict
) -> None:
    checked = 0
    for file, positions in faults_by_file.items():
        if not file.startswith("gp/daily/"):
            continue
        lines = (economy.out / file).read_text(encoding="utf-8").splitlines()
        for position, rows in positions.items():
            for row in rows:
                if row["fault_kind"] != "duplicate":
                    continue
                bundle = orjson.loads(lines[position - 1])
                copy = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == row["record_id"])
                day = date.fromisoformat(file.removeprefix("gp/daily/").removesuffix(".ndjson"))
                before = economy.out / "gp" / "daily" / f"{day - timedelta(days=1)}.ndjson"
                earlier = [orjson.loads(raw) for raw in before.read_text(encoding="utf-8").splitlines()]
                first = [e["resource"] for b in earlier for e in b["entry"] if e["resource"]["id"] == copy["id"]]
                assert first == [copy], f"{file}:{position} repeats the day before's entry"
                checked += 1
    assert checked >= 5
