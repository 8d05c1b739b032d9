"""Builders of small, hand-checkable feed messages (synthetic; 999-range NHS numbers)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from joinedup.feeds import FeedUnit, Pipeline, UnitOutcome
from joinedup.feeds.hl7v2.adapter import Hl7v2Adapter
from joinedup.store.tables import Encounter

# Valid test-range NHS numbers (modulus 11 checked by hand: 9990001234 is not used on purpose).
NHS_VALID = "9990000018"
NHS_VALID_2 = "9990000026"
NHS_BAD_CHECK = "9990000019"


def adt(
    event: str,
    control_id: str,
    sent: str,
    *,
    mrn: str = "M0001",
    nhs: str | None = NHS_VALID,
    visit: str | None = "SP0001",
    patient_class: str = "I",
    ward: str = "WARD1",
    prior_ward: str = "",
    admit: str = "",
    discharge: str = "",
    admission_type: str = "E",
    family: str = "TESTER",
    given: str = "ANNA",
    dob: str = "19400115",
    extra: str = "",
) -> str:
    """One HL7 v2.4 ADT message as the synthetic PAS writes it (segments end \\r)."""
    pid3 = f"{mrn}^^^RZZ^MR" + (f"~{nhs}^^^NHS^NH" if nhs else "")
    segments = [
        f"MSH|^~\\&|PAS|RZZ|JOINEDUP|ZCC01|{sent}||ADT^{event}^ADT_A01|{control_id}|P|2.4",
        f"EVN|{event}|{sent}",
        f"PID|1||{pid3}||{family}^{given}||{dob}|F|||1 HIGH ST^^SYNTHFORD^^ZZ1 1ZZ||||||||||||A",
    ]
    if event == "A40":
        segments.append(f"MRG|{visit}")
    elif visit is not None:
        segments.append(
            f"PV1|1|{patient_class}|{ward}^^^RZZ|{admission_type}||{prior_ward}^^^RZZ|C1234567|||300"
            f"|||||||||{visit}" + "|" * 17 + "19||||||||" + f"{admit}|{discharge}"
        )
    if extra:
        segments.append(extra)
    return "\r".join(segments) + "\r"


def count_rows(session: Session, table: str, where: str = "1=1", **params: Any) -> int:
    """Rows of ``table`` matching ``where``."""
    return int(session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one())


def patient_resource(patient_id: str, nhs: str | None = NHS_VALID, *, postcode: str = "ZZ1 1ZZ",
                     practice: str = "Z99001") -> dict[str, Any]:
    """A UK Core Patient as the synthetic GP system sends it."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "name": [{"family": "Tester", "given": ["Anna"]}],
        "gender": "female",
        "birthDate": "1940-01-15",
        "address": [{"line": ["1 High St"], "city": "Synthford", "postalCode": postcode}],
        "generalPractitioner": [
            {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": practice}}
        ],
    }
    if nhs:
        resource["identifier"] = [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}]
    return resource


def transaction(bundle_id: str, timestamp: str, *resources: dict[str, Any]) -> bytes:
    """A FHIR transaction Bundle with PUT entries, as the synthetic GP daily files are."""
    entries = [
        {
            "fullUrl": f"urn:uuid:{resource['id']}",
            "resource": resource,
            "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
        }
        for resource in resources
    ]
    bundle = {"resourceType": "Bundle", "id": bundle_id, "type": "transaction", "timestamp": timestamp,
              "entry": entries}
    return orjson.dumps(bundle)


def ingest_hl7(session: Session, *messages: str, source: str = "hospital-pas") -> list[UnitOutcome]:
    """Push HL7 messages straight into the pipeline (no transport), one batch."""
    units = [FeedUnit(source, "hl7v2", message.encode(), str(n)) for n, message in enumerate(messages, 1)]
    return Pipeline().ingest_batch(session, Hl7v2Adapter(), units)


def encounter_state(session: Session, visit: str, source: str = "hospital-pas") -> dict[str, Any]:
    """The stored encounter for a visit number, as a dict."""
    encounter = Encounter.__table__
    query = select(encounter).where(encounter.c.source == source, encounter.c.source_record_id == visit)
    return dict(session.execute(query).mappings().one())
