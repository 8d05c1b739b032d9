"""A practice's high-risk list (``joinedup cohort``): who, how high, why, what is in place, who is new.

Identifiable lists are direct care: every person on the list passes the access decision
(``joinedup.governance.authorise``, resource ``cohort``), which writes the audit entry; people the
user may not see are withheld and counted, and the list view itself is audited once more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, NotFound
from joinedup.governance import authorise, record_audit
from joinedup.model import Actor
from joinedup.store.tables.coordination import CarePlan, CaseloadEntry, PathwayInstance
from joinedup.store.tables.identity import SourcePatient
from joinedup.store.tables.risk import RiskScore

logger = logging.getLogger(__name__)

NEW_ENTRANT_LOOK_BACK_DAYS = 7


@dataclass(frozen=True)
class InPlace:
    """What is already in place for a person in the coordination centre."""

    pathways: tuple[str, ...] = ()
    care_plan: bool = False
    care_coordinator: bool = False
    on_caseload: bool = False


@dataclass(frozen=True)
class CohortEntry:
    """One person on a practice's high-risk list."""

    person_id: str
    practice_rank: int
    score: float
    band: str
    efi_category: str
    efi_count: int
    charlson_index: int
    reasons: tuple[str, ...]
    in_place: InPlace
    new_entrant: bool | None  # None when there is no run a week earlier to compare with
    name: str | None = None  # identifiable fields, shown when the access decision allows them
    nhs_number: str | None = None
    birth_date: date | None = None


@dataclass(frozen=True)
class Cohort:
    """A practice's list with the run it came from and what was compared."""

    practice_code: str
    model_version: str
    as_of_date: date
    compared_with: date | None
    entries: list[CohortEntry] = field(default_factory=list)
    withheld: int = 0


def _latest_run(session: Session, practice_code: str) -> tuple[date, str] | None:
    row = session.execute(
        select(RiskScore.as_of_date, RiskScore.model_version)
        .where(RiskScore.practice_code == practice_code)
        .order_by(RiskScore.as_of_date.desc(), RiskScore.scored_at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def _top(session: Session, practice_code: str, as_of: date, version: str, top: int) -> list[RiskScore]:
    return list(
        session.scalars(
            select(RiskScore)
            .where(
                RiskScore.practice_code == practice_code,
                RiskScore.as_of_date == as_of,
                RiskScore.model_version == version,
            )
            .order_by(RiskScore.score.desc(), RiskScore.person_id)
            .limit(top)
        )
    )


def _earlier_top(session: Session, practice_code: str, as_of: date, top: int) -> tuple[date | None, set[str]]:
    """The practice's top ``top`` in the latest run at least a week before ``as_of``."""
    cutoff = as_of - timedelta(days=NEW_ENTRANT_LOOK_BACK_DAYS)
    earlier = session.execute(
        select(RiskScore.as_of_date, RiskScore.model_version)
        .where(RiskScore.practice_code == practice_code, RiskScore.as_of_date <= cutoff)
        .order_by(RiskScore.as_of_date.desc(), RiskScore.scored_at.desc())
        .limit(1)
    ).first()
    if earlier is None:
        return None, set()
    return earlier[0], {row.person_id for row in _top(session, practice_code, earlier[0], earlier[1], top)}


def what_is_in_place(session: Session, person_ids: list[str]) -> dict[str, InPlace]:
    """Pathways (active or paused), active care plans and care coordinators, per person."""
    if not person_ids:
        return {}
    pathways: dict[str, list[str]] = {}
    for person_id, pathway_id in session.execute(
        select(PathwayInstance.person_id, PathwayInstance.pathway_id)
        .where(PathwayInstance.person_id.in_(person_ids), PathwayInstance.status.in_(("active", "paused")))
        .order_by(PathwayInstance.pathway_id)
    ):
        pathways.setdefault(person_id, []).append(pathway_id)
    plans = set(
        session.scalars(
            select(CarePlan.person_id).where(CarePlan.person_id.in_(person_ids), CarePlan.status == "active")
        )
    )
    caseload: dict[str, int] = {
        person_id: int(coordinators)
        for person_id, coordinators in session.execute(
            select(CaseloadEntry.person_id, func.count(CaseloadEntry.coordinator_user_id))
            .where(CaseloadEntry.person_id.in_(person_ids), CaseloadEntry.ended_at.is_(None))
            .group_by(CaseloadEntry.person_id)
        )
    }
    return {
        person_id: InPlace(
            pathways=tuple(pathways.get(person_id, ())),
            care_plan=person_id in plans,
            care_coordinator=caseload.get(person_id, 0) > 0,
            on_caseload=person_id in caseload,
        )
        for person_id in person_ids
    }


def _demographics(session: Session, person_ids: list[str]) -> dict[str, SourcePatient]:
    """Each person's GP record (the registration), else their most recently seen source record."""
    if not person_ids:
        return {}
    found: dict[str, SourcePatient] = {}
    records = session.scalars(
        select(SourcePatient)
        .where(SourcePatient.person_id.in_(person_ids))
        .order_by(SourcePatient.source_patient_id.desc())
    )
    for record in records:
        person_id = record.person_id
        if person_id is None:
            continue
        if person_id not in found or (record.source == "gp" and found[person_id].source != "gp"):
            found[person_id] = record
    return found


def _shown(record: SourcePatient | None, visible: frozenset[str] | None) -> dict[str, Any]:
    """Name, NHS number and birth date, as far as the access decision's visible fields allow."""
    if record is None:
        return {}
    def allowed(name: str) -> bool:
        return visible is None or name in visible

    name = " ".join(part for part in (record.given_name, record.family_name) if part) or None
    return {
        "name": name if allowed("family_name") else None,
        "nhs_number": record.nhs_number if allowed("nhs_number") else None,
        "birth_date": record.birth_date if allowed("birth_date") else None,
    }


def practice_cohort(session: Session, *, actor: Actor, practice_code: str, top: int = 50) -> list[CohortEntry]:
    """The practice's ``top`` highest-risk people from the latest scoring run (see ``practice_cohort_report``)."""
    return practice_cohort_report(session, actor=actor, practice_code=practice_code, top=top).entries


def practice_cohort_report(session: Session, *, actor: Actor, practice_code: str, top: int = 50) -> Cohort:
    """The practice's ``top`` highest-risk people from the latest scoring run, for direct care.

    ``practice_rank`` is the place on the practice's full list (people withheld keep their place).

    Raises:
        NotFound: the practice has no scores yet (run ``joinedup risk score``).
        AccessDenied: the user may see nobody on the list (no relationship with the practice's patients).
    """
    if top < 1:
        raise ValueError("top must be at least 1")
    run = _latest_run(session, practice_code)
    if run is None:
        raise NotFound(f"no risk scores for practice {practice_code}; run `joinedup risk score` first")
    as_of, version = run
    rows = _top(session, practice_code, as_of, version, top)
    compared_with, earlier = _earlier_top(session, practice_code, as_of, top)
    visible: list[tuple[int, RiskScore]] = []
    fields: dict[str, frozenset[str] | None] = {}
    withheld = 0
    for rank, row in enumerate(rows, start=1):
        try:
            decision = authorise(session, actor=actor, person_id=row.person_id, resource_type="cohort",
                                 detail=f"practice cohort {practice_code} as of {as_of.isoformat()}")
        except (AccessDenied, NotFound):
            withheld += 1
            continue
        visible.append((rank, row))
        fields[row.person_id] = decision.visible_fields
    record_audit(session, actor=actor, action="read", resource_type="cohort",
                 detail=f"practice cohort {practice_code} top {top}: {len(visible)} shown, {withheld} withheld")
    session.commit()
    if rows and not visible:
        raise AccessDenied(
            f"you have no care relationship with the patients of practice {practice_code}; "
            "ask the practice or the coordination centre for access"
        )
    in_place = what_is_in_place(session, [row.person_id for _, row in visible])
    demographics = _demographics(session, [row.person_id for _, row in visible])
    entries = [
        CohortEntry(
            person_id=row.person_id,
            practice_rank=rank,
            score=row.score,
            band=row.band,
            efi_category=row.efi_category,
            efi_count=row.efi_count,
            charlson_index=row.charlson_index,
            reasons=tuple(row.reasons),
            in_place=in_place[row.person_id],
            new_entrant=None if compared_with is None else row.person_id not in earlier,
            **_shown(demographics.get(row.person_id), fields[row.person_id]),
        )
        for rank, row in visible
    ]
    logger.info("practice cohort: %d shown, %d withheld", len(entries), withheld)
    return Cohort(practice_code, version, as_of, compared_with, entries, withheld)
