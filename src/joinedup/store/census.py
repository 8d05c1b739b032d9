"""What the store holds, counted: the core of ``joinedup status``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.store.tables import (
    Allergy,
    CareDocument,
    Condition,
    Encounter,
    Medication,
    Observation,
    Organisation,
    Person,
    Procedure,
    QuarantineItem,
    SourcePatient,
)

RECORD_KINDS: dict[str, type[Encounter | Condition | Observation | Medication | Allergy | Procedure | CareDocument]] = {
    "encounter": Encounter,
    "condition": Condition,
    "observation": Observation,
    "medication": Medication,
    "allergy": Allergy,
    "procedure": Procedure,
    "care_document": CareDocument,
}


def count_store(session: Session) -> dict[str, Any]:
    """Count people, practices, records by source and kind, and open quarantine by reason."""
    records: dict[str, dict[str, int]] = {}
    for kind, table in RECORD_KINDS.items():
        for source, count in session.execute(select(table.source, func.count()).group_by(table.source)):
            records.setdefault(source, {})[kind] = count
    practices = [
        {"org_code": code, "name": name, "neighbourhood": neighbourhood}
        for code, name, neighbourhood in session.execute(
            select(Organisation.org_code, Organisation.name, Organisation.neighbourhood)
            .where(Organisation.kind == "gp_practice")
            .order_by(Organisation.org_code)
        )
    ]
    quarantine = dict(
        session.execute(
            select(QuarantineItem.reason_code, func.count())
            .where(QuarantineItem.status == "open")
            .group_by(QuarantineItem.reason_code)
        ).all()
    )
    return {
        "people": session.scalar(select(func.count()).select_from(Person).where(Person.status == "active")),
        "source_patients": session.scalar(select(func.count()).select_from(SourcePatient)),
        "linked_source_patients": session.scalar(
            select(func.count()).select_from(SourcePatient).where(SourcePatient.person_id.is_not(None))
        ),
        "practices": practices,
        "records": records,
        "quarantined": quarantine,
    }
