"""The shared care record: a person's longitudinal timeline, summary and FHIR R4 export, read through governance.

May import model, store, governance. Every function here asks ``joinedup.governance.authorise``
before it reads a person's record, so every read leaves an audit entry.

- ``patient_record(session, *, actor, person_id, sections=None) -> PatientRecord``
- ``search_patients(session, *, actor, nhs_number=None, name=None, birth_date=None) -> list[PatientMatch]``
- ``everything_bundle(session, *, actor, person_id, base_url="") -> dict`` (FHIR R4 ``Patient/$everything``)
- ``access_history`` ("who has looked at my record"), ``integration_status`` (feeds and quarantine)
- ``read_resource`` / ``search_resources`` / ``search_bundle``: the FHIR R4 read and search API.
"""

from joinedup.record.access_history import RecordLook, access_history
from joinedup.record.fhir import (
    RESOURCE_TYPES,
    SearchPage,
    code_system_uri,
    everything_bundle,
    parse_date_parameter,
    read_resource,
    search_bundle,
    search_resources,
)
from joinedup.record.integration import IntegrationStatus, integration_status
from joinedup.record.patient_record import (
    PORTAL_SECTIONS,
    SECTIONS,
    AllergyItem,
    AppointmentItem,
    CarePlanSummary,
    CareTeamMember,
    CurrentLocation,
    Demographics,
    DemographicView,
    FlagItem,
    MedicationItem,
    PathwayItem,
    PatientRecord,
    Problem,
    ReferralItem,
    ResultPoint,
    ResultTrend,
    RiskSummary,
    SourceRef,
    TimelineEntry,
    patient_record,
    trend_direction,
)
from joinedup.record.search import PatientMatch, normalise_nhs_number, search_patients

__all__ = [
    "PORTAL_SECTIONS",
    "RESOURCE_TYPES",
    "SECTIONS",
    "AllergyItem",
    "AppointmentItem",
    "CarePlanSummary",
    "CareTeamMember",
    "CurrentLocation",
    "DemographicView",
    "Demographics",
    "FlagItem",
    "IntegrationStatus",
    "MedicationItem",
    "PathwayItem",
    "PatientMatch",
    "PatientRecord",
    "Problem",
    "RecordLook",
    "ReferralItem",
    "ResultPoint",
    "ResultTrend",
    "RiskSummary",
    "SearchPage",
    "SourceRef",
    "TimelineEntry",
    "access_history",
    "code_system_uri",
    "everything_bundle",
    "integration_status",
    "normalise_nhs_number",
    "parse_date_parameter",
    "patient_record",
    "read_resource",
    "search_bundle",
    "search_patients",
    "search_resources",
    "trend_direction",
]
