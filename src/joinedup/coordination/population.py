"""What the centre reads about people from the shared record and the risk scores, set-based.

Risk bands come from the risk package's ``risk_score`` table when it is in the store (the latest
score per person); the centre never recomputes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, func, or_, select
from sqlalchemy.orm import Session

from joinedup.store.tables import Base, Condition, Encounter, Observation, SourcePatient

HIGH_RISK_BANDS = ("high", "very_high")
# SNOMED CT "Lives alone" (finding) and its usual siblings in GP records.
LIVES_ALONE_CODES = ("105529008", "160709007")
# Falls: SNOMED CT "Falls" (finding), "Fall" (event), "History of fall"; ICD-10 W00-W19 (any fall).
FALL_CODES = ("161898004", "1912002", "217082002", "161898004")
FALL_ICD10_PREFIXES = tuple(f"W{n:02d}" for n in range(20))
RECENT_FALL_WINDOW = timedelta(days=365)


def risk_table() -> Table | None:
    """The risk package's ``risk_score`` table, when this store has it."""
    return Base.metadata.tables.get("risk_score")


def _people(person_ids: Iterable[str] | Select[Any]) -> list[str] | Select[Any]:
    return person_ids if isinstance(person_ids, Select) else list(person_ids)


def latest_risk(session: Session, person_ids: Iterable[str] | Select[Any]) -> dict[str, tuple[str, str | None]]:
    """Each person's latest (band, efi_category), for the people asked about (ids or a query of ids)."""
    table = risk_table()
    ids = _people(person_ids)
    if table is None or (isinstance(ids, list) and not ids):
        return {}
    latest = (
        select(table.c.person_id, func.max(table.c.scored_at).label("scored_at"))
        .where(table.c.person_id.in_(ids))
        .group_by(table.c.person_id)
        .subquery()
    )
    rows = session.execute(
        select(table.c.person_id, table.c.band, table.c.efi_category).join(
            latest, (latest.c.person_id == table.c.person_id) & (latest.c.scored_at == table.c.scored_at)
        )
    )
    return {person_id: (band, efi) for person_id, band, efi in rows}


def newly_high_risk(session: Session, person_ids: Iterable[str] | Select[Any]) -> set[str]:
    """People whose latest band is high (or very high) and whose score before that was not."""
    table = risk_table()
    ids = _people(person_ids)
    if table is None or (isinstance(ids, list) and not ids):
        return set()
    ranked = select(
        table.c.person_id,
        table.c.band,
        func.row_number().over(partition_by=table.c.person_id, order_by=table.c.scored_at.desc()).label("rank"),
    ).where(table.c.person_id.in_(ids)).subquery()
    bands: dict[str, list[str]] = {}
    for person_id, band, rank in session.execute(select(ranked).where(ranked.c.rank <= 2)):
        bands.setdefault(person_id, ["", ""])[rank - 1] = band
    return {
        person_id
        for person_id, (latest, before) in bands.items()
        if latest in HIGH_RISK_BANDS and before not in HIGH_RISK_BANDS
    }


def is_high_risk(session: Session, person_id: str) -> bool:
    """Whether the person's latest risk band is high or very high."""
    found = latest_risk(session, [person_id]).get(person_id)
    return found is not None and found[0] in HIGH_RISK_BANDS


def person_for_source_patient(session: Session, source_patient_id: int | None) -> str | None:
    """The linked person of a source patient (None when not linked yet)."""
    if source_patient_id is None:
        return None
    return session.scalar(
        select(SourcePatient.person_id).where(SourcePatient.source_patient_id == source_patient_id)
    )


def birth_date_of(session: Session, person_id: str) -> date | None:
    """The person's date of birth as most sources give it (the earliest-linked source's)."""
    return session.scalar(
        select(SourcePatient.birth_date)
        .where(SourcePatient.person_id == person_id, SourcePatient.birth_date.is_not(None))
        .order_by(SourcePatient.source_patient_id)
        .limit(1)
    )


def lives_alone(session: Session, person_id: str) -> bool:
    """Whether the record says the person lives alone (coded observation or condition)."""
    in_observations = session.scalar(
        select(Observation.observation_id)
        .join(SourcePatient, SourcePatient.source_patient_id == Observation.source_patient_id)
        .where(SourcePatient.person_id == person_id, Observation.code.in_(LIVES_ALONE_CODES))
        .limit(1)
    )
    if in_observations is not None:
        return True
    return (
        session.scalar(
            select(Condition.condition_id)
            .join(SourcePatient, SourcePatient.source_patient_id == Condition.source_patient_id)
            .where(SourcePatient.person_id == person_id, Condition.code.in_(LIVES_ALONE_CODES))
            .limit(1)
        )
        is not None
    )


def recent_fall(session: Session, person_id: str, *, at: datetime) -> bool:
    """Whether a fall is recorded in the last year (coded condition, or an A&E/admission for one)."""
    since = (at - RECENT_FALL_WINDOW).date()
    coded = session.scalar(
        select(Condition.condition_id)
        .join(SourcePatient, SourcePatient.source_patient_id == Condition.source_patient_id)
        .where(
            SourcePatient.person_id == person_id,
            or_(Condition.code.in_(FALL_CODES), *(Condition.code.startswith(p) for p in FALL_ICD10_PREFIXES)),
            or_(Condition.onset_date.is_(None), Condition.onset_date >= since),
        )
        .limit(1)
    )
    if coded is not None:
        return True
    return (
        session.scalar(
            select(Encounter.encounter_id)
            .join(SourcePatient, SourcePatient.source_patient_id == Encounter.source_patient_id)
            .where(
                SourcePatient.person_id == person_id,
                Encounter.start_at >= at - RECENT_FALL_WINDOW,
                or_(*(Encounter.primary_diagnosis_code.startswith(p) for p in FALL_ICD10_PREFIXES)),
            )
            .limit(1)
        )
        is not None
    )


def has_care_package(session: Session, person_id: str, *, at: datetime) -> bool:
    """Whether a social care package is in place (a social-care encounter open now)."""
    return (
        session.scalar(
            select(Encounter.encounter_id)
            .join(SourcePatient, SourcePatient.source_patient_id == Encounter.source_patient_id)
            .where(
                SourcePatient.person_id == person_id,
                Encounter.setting == "social_care",
                Encounter.start_at <= at,
                or_(Encounter.end_at.is_(None), Encounter.end_at > at),
                Encounter.status.notin_(("cancelled", "entered-in-error")),
            )
            .limit(1)
        )
        is not None
    )


def admitted_since(session: Session, person_id: str) -> datetime | None:
    """When the person's admission now in progress (in the record) began, if there is one."""
    return session.scalar(
        select(func.max(Encounter.start_at))
        .join(SourcePatient, SourcePatient.source_patient_id == Encounter.source_patient_id)
        .where(
            SourcePatient.person_id == person_id,
            Encounter.setting == "inpatient",
            Encounter.status == "in-progress",
        )
    )


def lace_for_stay(
    session: Session, person_id: str, *, admitted_at: datetime | None, discharged_at: datetime
) -> int | None:
    """The LACE index of a stay just ended, from the live record (risk's published points).

    L: days from admission to discharge; A: the stay's admission method is emergency; C: Charlson
    index of ICD-10 codes recorded up to discharge; E: A&E attendances in the 182 days before the
    admission day. None when the admission time is not known.
    """
    # Imported here: the risk package pulls in the analytics stack, which most callers never need.
    from joinedup.risk import charlson_index, lace_score

    if admitted_at is None:
        return None
    emergency = session.scalar(
        select(Encounter.admission_method)
        .join(SourcePatient, SourcePatient.source_patient_id == Encounter.source_patient_id)
        .where(
            SourcePatient.person_id == person_id,
            Encounter.setting == "inpatient",
            Encounter.start_at <= discharged_at,
        )
        .order_by(Encounter.start_at.desc())
        .limit(1)
    )
    codes = session.scalars(
        select(Condition.code)
        .join(SourcePatient, SourcePatient.source_patient_id == Condition.source_patient_id)
        .where(
            SourcePatient.person_id == person_id,
            Condition.code_system == "icd10",
            or_(Condition.onset_date.is_(None), Condition.onset_date <= discharged_at.date()),
        )
    ).all()
    admission_day = admitted_at.date()
    day_start = datetime.combine(admission_day, datetime.min.time(), admitted_at.tzinfo)
    ae_visits = session.scalar(
        select(func.count())
        .select_from(Encounter)
        .join(SourcePatient, SourcePatient.source_patient_id == Encounter.source_patient_id)
        .where(
            SourcePatient.person_id == person_id,
            Encounter.setting == "ae",
            Encounter.start_at >= day_start - timedelta(days=182),
            Encounter.start_at < day_start,
        )
    ) or 0
    score = lace_score(
        length_of_stay_days=max((discharged_at.date() - admission_day).days, 0),
        emergency=emergency == "emergency",
        charlson=charlson_index(codes),
        ae_visits_6m=ae_visits,
    )
    return score.total
