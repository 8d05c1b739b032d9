"""The board for 2,000 active people is built in under 300 ms (set-based queries), with the right rows."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from joinedup.coordination.board import board
from joinedup.coordination.schemas import BoardFilters
from joinedup.model import Actor
from joinedup.store.tables import Person, SourcePatient
from joinedup.store.tables.coordination import BoardFlag, CaseloadEntry, PathwayInstance, PersonLocation, Task

PEOPLE = 2_000
PATHWAYS = ("heart-failure", "copd", "diabetes", "frailty-falls")


def _populate(session: Session, now: datetime) -> None:
    ids = [f"b{n:05d}" for n in range(PEOPLE)]
    session.execute(insert(Person), [{"person_id": i} for i in ids])
    session.execute(insert(SourcePatient), [
        {"source": "PAS", "local_id": i, "person_id": i, "given_name": "Given", "family_name": f"Family{n:05d}",
         "birth_date": date(1940, 1, 1), "nhs_number_status": "missing"}
        for n, i in enumerate(ids)
    ])
    session.execute(insert(CaseloadEntry), [
        {"person_id": i, "team_id": "coordination-centre", "reason": "referral", "started_at": now,
         "coordinator_user_id": f"u{n % 5}", "neighbourhood": ("North", "South")[n % 2]}
        for n, i in enumerate(ids)
    ])
    session.execute(insert(PathwayInstance), [
        {"person_id": i, "pathway_id": PATHWAYS[n % 4], "pathway_version": 1, "status": "active",
         "current_step_id": "step", "current_step_due_at": now + timedelta(days=(n % 10) - 1), "started_at": now}
        for n, i in enumerate(ids)
    ])
    session.execute(insert(Task), [
        {"person_id": i, "kind": "phone_patient", "title": f"Task {k}", "queue_team_id": "coordination-centre",
         "priority": ("routine", "urgent")[k], "status": "requested", "due_at": now + timedelta(hours=k + n % 7),
         "origin": "pathway_step", "escalation_level": 0, "created_at": now, "created_by": "seed"}
        for n, i in enumerate(ids) for k in (0, 1)
    ])
    session.execute(insert(PersonLocation), [
        {"person_id": i, "place": "admitted", "ward": "Ward 9", "since_at": now - timedelta(hours=5)}
        for i in ids[::10]
    ])
    session.execute(insert(BoardFlag), [
        {"person_id": i, "kind": "admitted", "raised_at": now} for i in ids[::10]
    ])
    session.commit()


@pytest.mark.slow
def test_board_for_2000_people_is_fast_and_right(sqlite_session: Session) -> None:
    coordinator = Actor(user_id="u-c", username="c", role="care_coordinator", team_ids=("coordination-centre",))
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    _populate(sqlite_session, now)
    # CPU time of this process (SQLite runs in it): the CI machine is shared, so wall time there
    # mostly measures other jobs. Best of five.
    timings = []
    for _ in range(5):
        began = time.process_time()
        rows = board(sqlite_session, actor=coordinator, at=now)
        timings.append(time.process_time() - began)
    assert len(rows) == PEOPLE
    # Every 10th person is admitted (200); steps due yesterday (n % 10 == 0) are overdue: the same 200.
    admitted = [r for r in rows if "admitted" in r.flags]
    assert len(admitted) == 200
    assert all(r.flags == ("admitted", "overdue_step") for r in admitted)
    assert rows[0].next_action == "Task 1"  # urgent before routine
    north_copd = board(sqlite_session, actor=coordinator, at=now,
                       filters=BoardFilters(neighbourhood="North", pathway_id="copd"))
    # n even (North) and n % 4 == 1 (copd) never meet.
    assert north_copd == []
    assert min(timings) < 0.3, f"board took {min(timings):.3f} s of CPU for {PEOPLE} people"


@pytest.mark.slow
def test_patient_search_for_the_referral_form_is_fast_at_borough_scale(sqlite_session: Session) -> None:
    """30,000 source records (10,000 people seen by three systems): each search well under 200 ms.

    The searches use the indexes on NHS number and (family name, birth date), so the time should grow
    with log(n); a borough-sized run (raise ``people``) belongs in benchmarks, not the quick suite."""
    from joinedup.coordination.referrals import find_patients

    people = 10_000
    sqlite_session.execute(insert(Person), [{"person_id": f"s{n:06d}"} for n in range(people)])
    sqlite_session.execute(insert(SourcePatient), [
        {"source": source, "local_id": f"{source}-{n}", "person_id": f"s{n:06d}", "given_name": "Given",
         "family_name": f"Family{n % 5000}", "birth_date": date(1930 + n % 70, 1 + n % 12, 1 + n % 28),
         "nhs_number": f"{9000000000 + n}", "nhs_number_status": "valid"}
        for n in range(people) for source in ("gp", "pas", "community")
    ])
    sqlite_session.commit()
    coordinator = Actor(user_id="u-c", username="c", role="care_coordinator", team_ids=("coordination-centre",))
    timings = []
    for n in (17, 4_321, 9_999):
        began = time.process_time()
        by_number = find_patients(sqlite_session, actor=coordinator, nhs_number=f"{9000000000 + n}")
        by_name = find_patients(sqlite_session, actor=coordinator, family_name=f"Family{n % 5000}",
                                birth_date=date(1930 + n % 70, 1 + n % 12, 1 + n % 28))
        timings.append((time.process_time() - began) / 2)
        assert [m.person_id for m in by_number] == [f"s{n:06d}"]
        assert f"s{n:06d}" in {m.person_id for m in by_name}
    assert max(timings) < 0.2, f"search took {max(timings):.3f} s of CPU"
