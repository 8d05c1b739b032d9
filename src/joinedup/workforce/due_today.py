"""Which home interventions fall due today, for the people of a neighbourhood.

Segments come from the record: eFI category from the latest risk score (severe / moderate
frailty) and being on the end-of-life pathway. A person's weekly rate for an intervention
(``data/demand_rates.yml``) becomes a daily chance of rate / 5 working days, drawn from a hash of
(person, intervention, day) so the same day always gives the same list. This stands in for the
scheduled care-plan actions that a live deployment reads instead; it is labelled as such.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.store.tables import Organisation, SourcePatient
from joinedup.store.tables.coordination import PathwayInstance
from joinedup.store.tables.risk import RiskScore
from joinedup.workforce.competencies import intervention_catalogue
from joinedup.workforce.demand import WORKING_DAYS_PER_WEEK, SegmentCount
from joinedup.workforce.visit_planning import DueIntervention

FRAILTY_SEGMENTS = {"severe": "severe_frailty", "moderate": "moderate_frailty"}


@dataclass(frozen=True)
class ResidentSegments:
    """A person of the neighbourhood, where they live, and the segments they are in."""

    person_id: str
    postcode: str
    segments: frozenset[str]


def neighbourhood_residents(session: Session, neighbourhood: str) -> list[ResidentSegments]:
    """People registered with the neighbourhood's practices who are in at least one segment."""
    latest = (
        select(RiskScore.person_id, func.max(RiskScore.risk_score_id).label("latest_id"))
        .group_by(RiskScore.person_id).subquery()
    )
    frailty = dict(session.execute(
        select(RiskScore.person_id, RiskScore.efi_category).join(latest, RiskScore.risk_score_id == latest.c.latest_id)
    ).all())
    end_of_life = set(session.scalars(
        select(PathwayInstance.person_id).where(PathwayInstance.pathway_id == "end-of-life",
                                                PathwayInstance.status.in_(("active", "paused")))
    ))
    people = session.execute(
        select(SourcePatient.person_id, func.max(SourcePatient.postcode))
        .join(Organisation, Organisation.org_code == SourcePatient.registered_practice_code)
        .where(Organisation.neighbourhood == neighbourhood, SourcePatient.person_id.is_not(None),
               SourcePatient.postcode.is_not(None), SourcePatient.deceased_date.is_(None))
        .group_by(SourcePatient.person_id)
    ).all()
    residents = []
    for person_id, postcode in people:
        if person_id is None or postcode is None:
            continue
        segments = {FRAILTY_SEGMENTS[c] for c in [frailty.get(person_id)] if c in FRAILTY_SEGMENTS}
        if person_id in end_of_life:
            segments.add("end_of_life")
        if segments:
            residents.append(ResidentSegments(person_id, postcode, frozenset(segments)))
    return sorted(residents, key=lambda resident: resident.person_id)


def segment_counts(residents: list[ResidentSegments], neighbourhood: str) -> list[SegmentCount]:
    """Counts of residents per segment, for the demand forecast."""
    counts: dict[str, int] = defaultdict(int)
    for resident in residents:
        for segment in resident.segments:
            counts[segment] += 1
    return [SegmentCount(neighbourhood, segment, people) for segment, people in sorted(counts.items())]


def _daily_draw(person_id: str, intervention_id: str, day: date) -> float:
    digest = hashlib.sha256(f"{person_id}|{intervention_id}|{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def interventions_due(
    residents: list[ResidentSegments], rates: Mapping[str, Mapping[str, float]], day: date
) -> list[DueIntervention]:
    """The interventions due on ``day``: each with a daily chance of its weekly rate / 5."""
    catalogue = intervention_catalogue().by_id()
    due = []
    for resident in residents:
        weekly: dict[str, float] = defaultdict(float)
        for segment in resident.segments:
            for intervention_id, rate in rates.get(segment, {}).items():
                weekly[intervention_id] += rate
        for intervention_id, rate in sorted(weekly.items()):
            if _daily_draw(resident.person_id, intervention_id, day) < rate / WORKING_DAYS_PER_WEEK:
                due.append(DueIntervention(f"{resident.person_id}:{intervention_id}", resident.person_id,
                                           resident.postcode, catalogue[intervention_id]))
    return due
