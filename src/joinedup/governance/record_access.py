"""Who has looked at my record: a person's access history, and the trail as FHIR R4 AuditEvents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import InvalidInput, NotFound
from joinedup.governance.access import authorise
from joinedup.model import Actor
from joinedup.store.tables.governance import AuditEntry
from joinedup.store.tables.identity import SourcePatient

# FHIR R4 AuditEvent codings.
_ACTION_CODES = {"read": "R", "search": "E", "export": "E", "write": "U", "create": "C", "delete": "D"}
_OUTCOME_CODES = {"allowed": "0", "denied": "4", "not_found": "4"}
_PURPOSE_CODES = {
    "direct_care": ("TREAT", "treatment"),
    "break_glass": ("ETREAT", "Emergency Treatment"),
    "planning": ("HOPERAT", "healthcare operations"),
    "commissioning": ("HPAYMT", "healthcare payment"),
    "research": ("HRESCH", "healthcare research"),
    "risk_stratification": ("POPHLTH", "population health"),
}
V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"


@dataclass(frozen=True)
class RecordAccess:
    """One look at (or change to) a person's record, as the person is shown it."""

    occurred_at: datetime
    username: str
    role: str
    org_code: str | None
    action: str
    resource_type: str
    outcome: str
    basis: str
    break_glass: bool


def person_ids_for_nhs_number(session: Session, nhs_number: str) -> list[str]:
    """The linked persons an NHS number belongs to (normally one).

    Raises:
        InvalidInput: not ten digits.
        NotFound: no linked person has it.
    """
    cleaned = nhs_number.replace(" ", "")
    if len(cleaned) != 10 or not cleaned.isdigit():
        raise InvalidInput("an NHS number has ten digits")
    found = sorted(
        {
            person_id
            for person_id in session.scalars(select(SourcePatient.person_id).where(SourcePatient.nhs_number == cleaned))
            if person_id is not None
        }
    )
    if not found:
        raise NotFound("no person with that NHS number")
    return found


def accesses_to_person(session: Session, *, actor: Actor, person_id: str) -> list[RecordAccess]:
    """Every audited access to a person's record, oldest first ("who has looked at my record").

    Allowed for the person themself (patient portal) and the information-governance officer; the
    request itself is audited.
    """
    authorise(session, actor=actor, person_id=person_id, resource_type="audit", action="read")
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.person_id == person_id, AuditEntry.resource_type != "audit")
        .order_by(AuditEntry.sequence)
    )
    return [
        RecordAccess(
            occurred_at=e.occurred_at,
            username=e.username,
            role=e.role,
            org_code=e.org_code,
            action=e.action,
            resource_type=e.resource_type,
            outcome=e.outcome,
            basis=e.basis,
            break_glass=e.basis.startswith("break_glass"),
        )
        for e in entries
    ]


def audit_event(entry: AuditEntry) -> dict[str, Any]:
    """One audit entry as a FHIR R4 AuditEvent resource (JSON-ready dict)."""
    purpose_key = "break_glass" if entry.basis.startswith("break_glass") else (entry.purpose or "direct_care")
    purpose_code, purpose_display = _PURPOSE_CODES.get(purpose_key, ("TREAT", "treatment"))
    agent: dict[str, Any] = {
        "type": {"text": entry.role},
        "who": {"identifier": {"system": "https://joinedup.example/Id/user", "value": entry.user_id}},
        "name": entry.username,
        "requestor": True,
    }
    if entry.basis:
        agent["purposeOfUse"] = [{"text": entry.basis}]
    if entry.org_code:
        agent["location"] = {"display": entry.org_code}
    if entry.client_address:
        agent["network"] = {"address": entry.client_address, "type": "2"}
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"audit-{entry.sequence}",
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": entry.action}],
        "action": _ACTION_CODES.get(entry.action, "E"),
        "recorded": entry.occurred_at.isoformat(),
        "outcome": _OUTCOME_CODES.get(entry.outcome, "8"),
        "outcomeDesc": entry.outcome,
        "purposeOfEvent": [{"coding": [{"system": V3_ACT_REASON, "code": purpose_code, "display": purpose_display}]}],
        "agent": [agent],
        "source": {"site": "joinedup", "observer": {"display": "joinedup"}},
    }
    entities: list[dict[str, Any]] = []
    if entry.person_id:
        entities.append({"what": {"reference": f"Patient/{entry.person_id}"}, "role": {"code": "1"}})
    entities.append({"type": {"code": entry.resource_type}, "description": entry.detail or entry.resource_type})
    event["entity"] = entities
    return event


def export_audit_events(
    session: Session,
    *,
    actor: Actor,
    person_id: str | None = None,
    since_sequence: int = 0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The trail (or one person's part of it) as FHIR R4 AuditEvents, in chain order.

    Page through a long trail with ``since_sequence`` (the last event's id is ``audit-<sequence>``).
    """
    authorise(session, actor=actor, person_id=person_id, resource_type="audit", action="export")
    query = select(AuditEntry).where(AuditEntry.sequence > since_sequence).order_by(AuditEntry.sequence)
    if limit is not None:
        query = query.limit(limit)
    if person_id is not None:
        query = query.where(AuditEntry.person_id == person_id)
    return [audit_event(entry) for entry in session.scalars(query)]
