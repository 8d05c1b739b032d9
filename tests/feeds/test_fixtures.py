"""Real producers' material: every fixture file ends accepted or quarantined with a specific reason.

``fixture_outcomes.json`` says, per file, what each unit comes to (``accepted`` or the reason code,
with counts for multi-unit files); it was reviewed by reading the files: e.g. the FHIR spec's
Organization and Practitioner examples are about nobody (unsupported_resource_type), PDS JSON Patch
documents are not FHIR resources (not_fhir), some PDS files are dangling links (malformed_json),
vendor HL7 test messages reuse MSH-10 and carry ORM/SIU/MDM types joinedup does not take, text-only
codes are unknown_code, and python-hl7's broken batch/file envelopes are malformed_envelope.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from joinedup.feeds import ingest_paths
from joinedup.store.tables import SourcePatient

from .fixture_outcomes import FIXTURES, fixture_files, outcomes_of, summarise

EXPECTED: dict[str, str] = json.loads((Path(__file__).parent / "fixture_outcomes.json").read_text())
KNOWN_REASONS = {
    "unsupported_message_type", "unsupported_resource_type", "unknown_code", "no_patient_data", "missing_patient",
    "malformed_json", "not_fhir", "unknown_layout", "malformed_envelope", "unsupported_reference", "missing_field",
    "unresolved_reference", "missing_segment", "malformed_date",
}


def test_every_fixture_file_has_an_expected_outcome() -> None:
    assert sorted(EXPECTED) == sorted(str(path.relative_to(FIXTURES)) for path in fixture_files())


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_file_is_accepted_or_quarantined_with_a_reason(path: Path) -> None:
    outcomes = outcomes_of(path)
    assert set(outcomes) <= {"accepted"} | KNOWN_REASONS
    assert summarise(outcomes) == EXPECTED[str(path.relative_to(FIXTURES))]


def test_uk_core_xml_patient_keeps_its_nhs_number(session: Session) -> None:
    path = FIXTURES / "fhir" / "ukcore-xml" / "UKCore-Patient-RichardSmith-Example.xml"
    summary = ingest_paths(session, [path])
    assert (summary.read, summary.accepted) == (1, 1)
    patient = session.execute(select(SourcePatient.__table__)).mappings().one()
    assert patient["nhs_number_given"] == "9912003888"
    assert patient["nhs_number_status"] == "valid"
    assert patient["family_name"] == "SMITH"


def test_pds_restricted_patient_is_flagged_sensitive(session: Session) -> None:
    pds = FIXTURES / "fhir" / "pds"
    summary = ingest_paths(session, [pds / "patient_9000000025.json", pds / "patient_9000000009.json"])
    assert summary.accepted == 2
    flags = dict(session.execute(text("SELECT local_id, sensitive_flag FROM source_patient")).all())
    assert {key: bool(value) for key, value in flags.items()} == {"9000000025": True, "9000000009": False}
    practice = session.execute(text("SELECT registered_practice_code FROM source_patient WHERE local_id='9000000009'"))
    assert practice.scalar_one() == "Y12345"


def test_all_hl7_and_synthea_fixtures_accounted_in_the_store(session: Session) -> None:
    summary = ingest_paths(session, [FIXTURES / "hl7v2" / "python-hl7", FIXTURES / "csv"])
    assert summary.read == summary.accepted + summary.duplicates + summary.quarantined_count
    accepted = session.execute(text("SELECT count(*) FROM feed_message WHERE status='accepted'")).scalar_one()
    assert int(accepted) == summary.accepted
    # Every quarantined unit is kept whole (a resend that fails again supersedes the earlier item).
    kept = session.execute(text("SELECT count(*) FROM quarantine_item")).scalar_one()
    assert int(kept) == summary.quarantined_count
    # Synthea: 27 patients and 604 encounters (the fixture README's figures).
    synthea = {"source": "synthea-v3-27-patients"}
    encounters = session.execute(text("SELECT count(*) FROM encounter WHERE source = :source"), synthea)
    assert int(encounters.scalar_one()) == 604
    patients = session.execute(text("SELECT count(*) FROM source_patient WHERE source = :source"), synthea)
    assert int(patients.scalar_one()) == 27
