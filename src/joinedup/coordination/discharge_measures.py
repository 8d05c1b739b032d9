"""How the discharge support service shows its effect: activity measures and an observational comparison.

Activity (the service's own work, counts only):

- people helped home per ISO week (week starting Monday) of ``home_at``;
- time from the decision to send home to being home (median and mean hours);
- follow-up calls made on time: first-attempt calls due in the period that were made no later than
  ``ON_TIME_GRACE`` after they were due, out of those due;
- needs found (unmet settle-in items + calls finding needs) and needs met (their tasks completed);
- Home from Hospital supports started, and completed, in the period.

Outcomes, for people helped home vs a matched comparison group — **observational, not causal**:
the comparison group is people discharged from A&E or an admission in the same period who were not
helped, matched exactly on age band (10 years), sex, frailty category, deprivation quintile and
prior emergency admissions (0, 1, 2+ in the year before). Rates in the comparison group are
standardised to the helped group's mix (each stratum weighted by how many helped people are in it);
helped people in strata with no comparator are left out of both and counted. Outcomes within 30
days of getting home / discharge: an emergency admission, an A&E attendance, and bed days.
Both groups pass through ``governance.secondary_use_person_ids`` (people who opted out are not used).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from joinedup.coordination import population
from joinedup.governance import authorise, record_audit, secondary_use_person_ids
from joinedup.model import Actor
from joinedup.store.tables import Encounter, SmallArea, SourcePatient
from joinedup.store.tables.coordination import (
    DischargeSupport,
    FollowUpCall,
    HomeFromHospital,
    SettleInCheck,
    Task,
)

ON_TIME_GRACE = timedelta(hours=4)
OUTCOME_WINDOW = timedelta(days=30)
OBSERVATIONAL_LABEL = (
    "Observational comparison with a matched group (age band, sex, frailty, deprivation, prior use); "
    "differences may reflect who was chosen for support, not only the support itself."
)

Stratum = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class OutcomeComparison:
    """30-day outcomes for people helped vs the matched comparison group (rates per person)."""

    helped_count: int
    helped_unmatched_count: int
    comparison_count: int
    helped_readmission_rate: float | None
    comparison_readmission_rate: float | None
    helped_reattendance_rate: float | None
    comparison_reattendance_rate: float | None
    helped_bed_days_per_person: float | None
    comparison_bed_days_per_person: float | None
    # (comparison - helped) bed days per person x matched helped people; negative = more bed days.
    bed_days_saved_estimate: float | None
    label: str = OBSERVATIONAL_LABEL


@dataclass(frozen=True)
class DischargeMeasures:
    """The service's measures for a period (``start`` inclusive, ``end`` exclusive)."""

    start: date
    end: date
    helped_home_by_week: dict[str, int]
    decision_to_home_median_hours: float | None
    decision_to_home_mean_hours: float | None
    calls_due: int
    calls_on_time: int
    needs_found: int
    needs_met: int
    home_from_hospital_started: int
    home_from_hospital_completed: int
    outcomes: OutcomeComparison | None = field(default=None)


def discharge_measures(
    session: Session,
    *,
    actor: Actor,
    start: date,
    end: date,
    purpose: str = "commissioning",
    compare_outcomes: bool = True,
) -> DischargeMeasures:
    """Work out the discharge service's measures for ``start`` ≤ day < ``end``."""
    authorise(session, actor=actor, person_id=None, resource_type="aggregate", action="read", purpose=purpose)
    begin, finish = _at(start), _at(end)
    cases = session.scalars(
        select(DischargeSupport).where(DischargeSupport.home_at >= begin, DischargeSupport.home_at < finish)
    ).all()
    weeks: dict[str, int] = {}
    for case in cases:
        assert case.home_at is not None
        monday = case.home_at.date() - timedelta(days=case.home_at.weekday())
        weeks[monday.isoformat()] = weeks.get(monday.isoformat(), 0) + 1
    waits = [
        (case.home_at - case.decision_at).total_seconds() / 3600
        for case in cases
        if case.home_at is not None and case.decision_at is not None
    ]
    calls = session.execute(
        select(FollowUpCall.due_at, FollowUpCall.made_at).where(
            FollowUpCall.attempt == 1, FollowUpCall.due_at >= begin, FollowUpCall.due_at < finish
        )
    ).all()
    on_time = sum(1 for due_at, made_at in calls if made_at is not None and made_at <= due_at + ON_TIME_GRACE)
    needs_found, needs_met = _needs(session, begin, finish)
    hfh_started = session.scalar(
        select(func.count()).select_from(HomeFromHospital).where(
            HomeFromHospital.start_date >= start, HomeFromHospital.start_date < end
        )
    )
    hfh_completed = session.scalar(
        select(func.count()).select_from(HomeFromHospital).where(
            HomeFromHospital.status == "completed",
            HomeFromHospital.closed_at >= begin,
            HomeFromHospital.closed_at < finish,
        )
    )
    outcomes = None
    if compare_outcomes:
        allowed = secondary_use_person_ids(session, purpose=purpose, as_of=end)
        helped = {case.person_id: case.home_at for case in cases if case.person_id in allowed and case.home_at}
        outcomes = compare_with_matched_group(session, helped=helped, allowed=allowed, begin=begin, finish=finish)
    measures = DischargeMeasures(
        start=start,
        end=end,
        helped_home_by_week=dict(sorted(weeks.items())),
        decision_to_home_median_hours=round(statistics.median(waits), 2) if waits else None,
        decision_to_home_mean_hours=round(statistics.fmean(waits), 2) if waits else None,
        calls_due=len(calls),
        calls_on_time=on_time,
        needs_found=needs_found,
        needs_met=needs_met,
        home_from_hospital_started=hfh_started or 0,
        home_from_hospital_completed=hfh_completed or 0,
        outcomes=outcomes,
    )
    record_audit(
        session, actor=actor, action="read", resource_type="aggregate",
        detail=f"discharge measures {start.isoformat()}..{end.isoformat()}", basis="aggregate", purpose=purpose,
    )
    session.commit()
    return measures


def compare_with_matched_group(
    session: Session, *, helped: dict[str, datetime], allowed: set[str], begin: datetime, finish: datetime
) -> OutcomeComparison:
    """30-day outcomes of the helped people vs people discharged in the period who were not helped."""
    discharges = session.execute(
        select(SourcePatient.person_id, func.min(Encounter.end_at))
        .join(SourcePatient, SourcePatient.source_patient_id == Encounter.source_patient_id)
        .where(
            Encounter.setting.in_(("inpatient", "ae")),
            Encounter.end_at >= begin,
            Encounter.end_at < finish,
            SourcePatient.person_id.is_not(None),
        )
        .group_by(SourcePatient.person_id)
    ).all()
    comparison: dict[str, datetime] = {
        person_id: index
        for person_id, index in discharges
        if person_id is not None and index is not None and person_id in allowed and person_id not in helped
    }
    strata = {
        person_id: _stratum(session, person_id, index) for person_id, index in {**helped, **comparison}.items()
    }
    by_stratum: dict[Stratum, list[str]] = {}
    for person_id in comparison:
        by_stratum.setdefault(strata[person_id], []).append(person_id)
    matched_helped = [person_id for person_id in helped if strata[person_id] in by_stratum]
    outcome = {person_id: _outcomes(session, person_id, index) for person_id, index in {**helped, **comparison}.items()}

    def helped_rate(position: int) -> float | None:
        if not matched_helped:
            return None
        return round(sum(outcome[p][position] for p in matched_helped) / len(matched_helped), 4)

    def standardised_rate(position: int) -> float | None:
        if not matched_helped:
            return None
        total = 0.0
        for person_id in matched_helped:
            group = by_stratum[strata[person_id]]
            total += sum(outcome[p][position] for p in group) / len(group)
        return round(total / len(matched_helped), 4)

    helped_bed_days, comparison_bed_days = helped_rate(2), standardised_rate(2)
    saved = (
        round((comparison_bed_days - helped_bed_days) * len(matched_helped), 2)
        if helped_bed_days is not None and comparison_bed_days is not None
        else None
    )
    used_comparators = {p for person_id in matched_helped for p in by_stratum[strata[person_id]]}
    return OutcomeComparison(
        helped_count=len(matched_helped),
        helped_unmatched_count=len(helped) - len(matched_helped),
        comparison_count=len(used_comparators),
        helped_readmission_rate=helped_rate(0),
        comparison_readmission_rate=standardised_rate(0),
        helped_reattendance_rate=helped_rate(1),
        comparison_reattendance_rate=standardised_rate(1),
        helped_bed_days_per_person=helped_bed_days,
        comparison_bed_days_per_person=comparison_bed_days,
        bed_days_saved_estimate=saved,
    )


def _stratum(session: Session, person_id: str, index: datetime) -> Stratum:
    birth_date = population.birth_date_of(session, person_id)
    age_band = "unknown"
    if birth_date is not None:
        age = index.year - birth_date.year - ((index.month, index.day) < (birth_date.month, birth_date.day))
        age_band = f"{(age // 10) * 10}s"
    row = session.execute(
        select(SourcePatient.sex, SmallArea.imd_decile)
        .outerjoin(SmallArea, SmallArea.lsoa_code == SourcePatient.lsoa_code)
        .where(SourcePatient.person_id == person_id)
        .order_by(SmallArea.imd_decile.is_(None), SourcePatient.source_patient_id)
        .limit(1)
    ).first()
    sex = (row[0] if row else None) or "unknown"
    quintile = f"q{(row[1] + 1) // 2}" if row and row[1] else "unknown"
    risk = population.latest_risk(session, [person_id]).get(person_id)
    frailty = (risk[1] if risk else None) or "unknown"
    prior = session.scalar(
        select(func.count())
        .select_from(Encounter)
        .join(SourcePatient, SourcePatient.source_patient_id == Encounter.source_patient_id)
        .where(
            SourcePatient.person_id == person_id,
            Encounter.setting == "inpatient",
            Encounter.admission_method == "emergency",
            Encounter.start_at >= index - timedelta(days=365),
            # The stay the person is going home from (ending at the index) is not prior use.
            Encounter.end_at < index - timedelta(days=1),
        )
    ) or 0
    return (age_band, sex, frailty, quintile, str(min(prior, 2)) if prior < 2 else "2+")


def _outcomes(session: Session, person_id: str, index: datetime) -> tuple[int, int, float]:
    """(emergency readmission 0/1, A&E re-attendance 0/1, bed days) within 30 days after ``index``."""
    window_end = index + OUTCOME_WINDOW
    rows = session.execute(
        select(Encounter.setting, Encounter.admission_method, Encounter.start_at, Encounter.end_at)
        .join(SourcePatient, SourcePatient.source_patient_id == Encounter.source_patient_id)
        .where(
            SourcePatient.person_id == person_id,
            Encounter.start_at > index,
            Encounter.start_at <= window_end,
            Encounter.setting.in_(("inpatient", "ae")),
            or_(Encounter.status.is_(None), Encounter.status.notin_(("cancelled", "entered-in-error"))),
        )
    ).all()
    readmitted = int(any(s == "inpatient" and m == "emergency" for s, m, _, _ in rows))
    reattended = int(any(s == "ae" for s, _, _, _ in rows))
    bed_days = 0.0
    for setting, _, start_at, end_at in rows:
        if setting == "inpatient" and start_at is not None:
            until = min(end_at or window_end, window_end)
            bed_days += max((until.date() - start_at.date()).days, 0)
    return readmitted, reattended, bed_days


def _needs(session: Session, begin: datetime, finish: datetime) -> tuple[int, int]:
    """Needs found (unmet items, calls finding needs) in the period, and how many of their tasks are done."""
    task_ids = list(
        session.scalars(
            select(SettleInCheck.task_id).where(
                SettleInCheck.met_flag.is_(False), SettleInCheck.checked_at >= begin, SettleInCheck.checked_at < finish
            )
        )
    ) + list(
        session.scalars(
            select(FollowUpCall.task_id).where(
                FollowUpCall.outcome == "needs_help", FollowUpCall.made_at >= begin, FollowUpCall.made_at < finish
            )
        )
    )
    found = len(task_ids)
    ids = [task_id for task_id in task_ids if task_id is not None]
    met = session.scalar(
        select(func.count()).select_from(Task).where(and_(Task.task_id.in_(ids), Task.status == "completed"))
    ) if ids else 0
    return found, met or 0


def _at(day: date) -> datetime:
    from datetime import UTC

    return datetime(day.year, day.month, day.day, tzinfo=UTC)
