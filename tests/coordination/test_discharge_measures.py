"""The discharge service's measures on a small data set whose answers were worked out by hand.

Period: October 2026. Helped home: H1, H2 (women in their 80s, moderate frailty, IMD quintile 1, no
prior emergency admission) and H3 (a man in his 70s, mild frailty, quintile 3: no comparator, so
unmatched). Comparators discharged from hospital in October, same stratum as H1/H2: C1 (readmitted
as an emergency 7 days later for 5 bed days, via A&E), C2 (nothing), C3 (an A&E attendance only),
C4 (would be readmitted, but has opted out: not on the cleaned list, never used), C5 (another
stratum). By hand:

- helped home by week: w/c 5 Oct: 1 (H1), w/c 12 Oct: 1 (H2), w/c 19 Oct: 1 (H3)
- decision → home: 4 h, 6 h, 11 h → median 6, mean 7
- first-attempt calls due: 4 (H1 day 1 on time, H1 day 2 five hours late, H2 day 1 on time, H2 day 2
  not made) → 2 on time; H1's retry call is not counted
- needs found 2 (an unmet settle-in item; a call finding needs), met 1 (the call's task is done)
- Home from Hospital started 2, completed 1 (the other ended early)
- outcomes, matched helped H1+H2: readmission 1/2 = 0.5 (H2), re-attendance 0.5, bed days 4/2 = 2.0;
  comparison C1-C3: readmission 1/3, re-attendance 2/3, bed days 5/3; bed days "saved" =
  (1.6667 − 2.0) × 2 = −0.67 (observational).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from joinedup.coordination.discharge_measures import OBSERVATIONAL_LABEL, discharge_measures
from joinedup.governance import load_cleaned_list
from joinedup.model import Actor
from joinedup.store.tables import Encounter, Person, SmallArea, SourcePatient
from joinedup.store.tables.coordination import (
    DischargeSupport,
    FollowUpCall,
    HomeFromHospital,
    SettleInCheck,
    Task,
)
from joinedup.store.tables.risk import RiskScore


def _at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def _nhs_number(seed: int) -> str:
    """A valid (modulus 11) NHS number, for synthetic people."""
    while True:
        body = f"{943000000 + seed:09d}"
        total = sum(int(digit) * weight for digit, weight in zip(body, range(10, 1, -1), strict=True))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            return body + str(check)
        seed += 1000


class _World:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.count = 0
        session.add_all(
            [SmallArea(lsoa_code="E01000001", imd_decile=2), SmallArea(lsoa_code="E01000005", imd_decile=5)]
        )
        session.flush()

    def person(self, name: str, *, born: date, sex: str, frailty: str, lsoa: str = "E01000001") -> str:
        self.count += 1
        self.session.add(Person(person_id=name))
        self.session.flush()
        number = _nhs_number(self.count * 17)
        patient = SourcePatient(
            source="PAS", local_id=name, person_id=name, birth_date=born, sex=sex, lsoa_code=lsoa,
            nhs_number=number, nhs_number_given=number, nhs_number_status="valid",
        )
        self.session.add(patient)
        self.session.add(RiskScore(
            person_id=name, model_version="ea-1", as_of_date=date(2026, 9, 1), scored_at=_at(9, 1), score=0.1,
            population_rank=1, band="moderate", efi_count=5, efi_category=frailty, charlson_index=0, reasons=[],
        ))
        self.session.flush()
        return name

    def encounter(self, person: str, setting: str, start: datetime, end: datetime, emergency: bool = True) -> None:
        self.count += 1
        patient = self.session.query(SourcePatient).filter_by(person_id=person).one()
        self.session.add(Encounter(
            source="PAS", source_record_id=f"enc-{self.count}", source_patient_id=patient.source_patient_id,
            setting=setting, admission_method="emergency" if emergency and setting == "inpatient" else None,
            status="finished", start_at=start, end_at=end,
        ))
        self.session.flush()

    def helped(self, person: str, decision: datetime, home: datetime) -> int:
        case = DischargeSupport(
            person_id=person, team_id="discharge-support", route="worklist", status="closed", reasons=[],
            identified_at=decision, decision_at=decision, home_at=home,
        )
        self.session.add(case)
        self.session.flush()
        return case.discharge_support_id


def test_measures_match_the_hand_worked_answers(session: Session, tmp_path: Path) -> None:
    world = _World(session)
    h1 = world.person("H1", born=date(1940, 3, 1), sex="female", frailty="moderate")
    h2 = world.person("H2", born=date(1944, 7, 1), sex="female", frailty="moderate")
    h3 = world.person("H3", born=date(1950, 1, 1), sex="male", frailty="mild", lsoa="E01000005")
    comparators = [
        world.person(f"C{n}", born=date(1942, 1, 1), sex="female", frailty="moderate") for n in (1, 2, 3, 4)
    ]
    c5 = world.person("C5", born=date(1962, 1, 1), sex="male", frailty="fit")
    c1, c2, c3, c4 = comparators

    case1 = world.helped(h1, _at(10, 5, 9), _at(10, 5, 13))
    case2 = world.helped(h2, _at(10, 14, 10), _at(10, 14, 16))
    world.helped(h3, _at(10, 20, 8), _at(10, 20, 19))
    for person, arrived in ((h1, _at(10, 5, 2)), (h2, _at(10, 14, 4)), (h3, _at(10, 20, 1))):
        world.encounter(person, "ae", arrived, arrived.replace(hour=arrived.hour + 3))
    # H2: back through A&E 6 days later and admitted as an emergency for 4 days.
    world.encounter(h2, "ae", _at(10, 20, 9), _at(10, 20, 14))
    world.encounter(h2, "inpatient", _at(10, 20, 14), _at(10, 24, 11))
    # Comparators' index admissions (ending in October) and what happened after.
    for person, admitted, discharged in (
        (c1, _at(9, 28), _at(10, 3)), (c2, _at(10, 4), _at(10, 8)), (c3, _at(10, 6), _at(10, 9)),
        (c4, _at(10, 1), _at(10, 2)), (c5, _at(10, 1), _at(10, 6)),
    ):
        world.encounter(person, "inpatient", admitted, discharged)
    world.encounter(c1, "ae", _at(10, 10, 8), _at(10, 10, 12))
    world.encounter(c1, "inpatient", _at(10, 10, 12), _at(10, 15, 10))
    world.encounter(c3, "ae", _at(10, 12, 8), _at(10, 12, 12))
    world.encounter(c4, "inpatient", _at(10, 5), _at(10, 25))
    world.encounter(c5, "inpatient", _at(10, 8), _at(10, 28))

    session.add_all([
        FollowUpCall(discharge_support_id=case1, day_number=1, attempt=1, due_at=_at(10, 6, 10), made_at=_at(10, 6, 11),
                     outcome="unreachable"),
        FollowUpCall(discharge_support_id=case1, day_number=1, attempt=2, due_at=_at(10, 6, 14), made_at=_at(10, 6, 14),
                     outcome="fine"),
        FollowUpCall(discharge_support_id=case1, day_number=2, attempt=1, due_at=_at(10, 7, 10), made_at=_at(10, 7, 15),
                     outcome="fine"),
        FollowUpCall(discharge_support_id=case2, day_number=1, attempt=1, due_at=_at(10, 15, 10),
                     made_at=_at(10, 15, 10),
                     outcome="needs_help", task_id=_task(session, h2, "completed")),
        FollowUpCall(discharge_support_id=case2, day_number=2, attempt=1, due_at=_at(10, 16, 10)),
        SettleInCheck(discharge_support_id=case1, item="food_in", met_flag=False, checked_by="v",
                      checked_at=_at(10, 5, 14), task_id=_task(session, h1, "requested")),
        SettleInCheck(discharge_support_id=case1, item="key_contacts", met_flag=True, checked_by="v",
                      checked_at=_at(10, 5, 14)),
        HomeFromHospital(discharge_support_id=case1, person_id=h1, start_date=date(2026, 10, 6),
                         end_date=date(2026, 11, 10), status="completed", closed_at=_at(10, 25), referred_by="v"),
        HomeFromHospital(discharge_support_id=case2, person_id=h2, start_date=date(2026, 10, 15),
                         end_date=date(2026, 11, 20), status="ended_early", closed_at=_at(10, 22), referred_by="v"),
    ])
    session.flush()
    cleaned = tmp_path / "cleaned-list-2026-10-31.csv"
    not_opted_out = (h1, h2, h3, c1, c2, c3, c5)
    numbers = [session.query(SourcePatient).filter_by(person_id=p).one().nhs_number for p in not_opted_out]
    cleaned.write_text("nhs_number\n" + "\n".join(n for n in numbers if n) + "\n")
    load_cleaned_list(session, cleaned, "commissioning")
    session.commit()

    commissioner = Actor(user_id="u-comm-1", username="commissioner", role="commissioner")
    measures = discharge_measures(session, actor=commissioner, start=date(2026, 10, 1), end=date(2026, 11, 1))

    assert measures.helped_home_by_week == {"2026-10-05": 1, "2026-10-12": 1, "2026-10-19": 1}
    assert (measures.decision_to_home_median_hours, measures.decision_to_home_mean_hours) == (6.0, 7.0)
    assert (measures.calls_due, measures.calls_on_time) == (4, 2)
    assert (measures.needs_found, measures.needs_met) == (2, 1)
    assert (measures.home_from_hospital_started, measures.home_from_hospital_completed) == (2, 1)
    outcomes = measures.outcomes
    assert outcomes is not None
    assert (outcomes.helped_count, outcomes.helped_unmatched_count, outcomes.comparison_count) == (2, 1, 3)
    assert (outcomes.helped_readmission_rate, outcomes.comparison_readmission_rate) == (0.5, 0.3333)
    assert (outcomes.helped_reattendance_rate, outcomes.comparison_reattendance_rate) == (0.5, 0.6667)
    assert (outcomes.helped_bed_days_per_person, outcomes.comparison_bed_days_per_person) == (2.0, 1.6667)
    assert outcomes.bed_days_saved_estimate == -0.67
    assert outcomes.label == OBSERVATIONAL_LABEL


def _task(session: Session, person: str, status: str) -> int:
    task = Task(person_id=person, kind="x", title="x", queue_team_id="discharge-support", due_at=_at(10, 20),
                origin="follow_up_call", created_by="v", status=status)
    session.add(task)
    session.flush()
    return task.task_id
