"""Following person merges: the centre's rows of a person merged into another move to the survivor.

The identity layer merges persons (``person.merged_into_person_id``); the centre hears of it through
``adt.merge`` news (or any caller may run ``follow_merges``). Nothing is dropped: rows move; where a
table keeps one row per person (location, passport), the survivor keeps the newer of the two, and
duplicate open caseload entries for the same team are folded into the earlier one.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from joinedup.store.tables import Person
from joinedup.store.tables.coordination import (
    BoardFlag,
    Booking,
    CarePlan,
    CaseloadEntry,
    DischargeSupport,
    ExperienceSurvey,
    HomeFromHospital,
    PathwayInstance,
    PatientPassport,
    PersonLocation,
    Referral,
    Task,
)

logger = logging.getLogger(__name__)

# Tables with many rows per person: their person_id simply moves to the survivor.
MOVABLE = (
    CaseloadEntry,
    Referral,
    PathwayInstance,
    Task,
    Booking,
    CarePlan,
    BoardFlag,
    DischargeSupport,
    HomeFromHospital,
    ExperienceSurvey,
)


def survivor_of(session: Session, person_id: str) -> str:
    """The person a merged person now lives on as (following chains of merges)."""
    seen = {person_id}
    current = person_id
    while True:
        merged_into = session.scalar(select(Person.merged_into_person_id).where(Person.person_id == current))
        if merged_into is None or merged_into in seen:
            return current
        seen.add(merged_into)
        current = merged_into


def follow_merges(session: Session) -> int:
    """Move every coordination row of a merged person to the survivor (not committed); returns people moved."""
    merged = {
        person_id
        for model in (*MOVABLE, PersonLocation, PatientPassport)
        for person_id in session.scalars(
            select(model.person_id)
            .join(Person, Person.person_id == model.person_id)
            .where(Person.merged_into_person_id.is_not(None))
            .distinct()
        )
    }
    for gone in sorted(merged):
        survivor = survivor_of(session, gone)
        if survivor == gone:
            continue
        for model in MOVABLE:
            session.execute(update(model).where(model.person_id == gone).values(person_id=survivor))
        _keep_newer(session, PersonLocation, gone, survivor, "since_at")
        _keep_newer(session, PatientPassport, gone, survivor, "updated_at")
        _fold_caseload(session, survivor)
        logger.info("coordination rows of merged person %s moved to %s", gone, survivor)
    session.flush()
    return len(merged)


def _keep_newer(
    session: Session, model: type[PersonLocation] | type[PatientPassport], gone: str, survivor: str, when: str
) -> None:
    old = session.get(model, gone)
    if old is None:
        return
    kept = session.get(model, survivor)
    if kept is None or getattr(old, when) > getattr(kept, when):
        if kept is not None:
            session.delete(kept)
            session.flush()
        values = {column.key: getattr(old, column.key) for column in model.__table__.columns}
        session.delete(old)
        session.flush()
        session.add(model(**{**values, "person_id": survivor}))
    else:
        session.delete(old)
    session.flush()


def _fold_caseload(session: Session, person_id: str) -> None:
    seen: dict[str, CaseloadEntry] = {}
    for entry in session.scalars(
        select(CaseloadEntry)
        .where(CaseloadEntry.person_id == person_id, CaseloadEntry.ended_at.is_(None))
        .order_by(CaseloadEntry.started_at, CaseloadEntry.caseload_entry_id)
    ):
        first = seen.setdefault(entry.team_id, entry)
        if first is not entry:
            first.coordinator_user_id = first.coordinator_user_id or entry.coordinator_user_id
            entry.ended_at = entry.started_at
