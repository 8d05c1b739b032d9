"""Stored scores (``joinedup risk score``) and practice cohorts through governance, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import date
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied
from joinedup.model import Actor
from joinedup.risk.cohorts import practice_cohort, practice_cohort_report
from joinedup.risk.scoring import band_for_rank, latest_person_risk, rescore_population, score_population
from joinedup.risk.training import TrainingResult
from joinedup.settings import load_settings
from joinedup.store.tables import Person, SourcePatient
from joinedup.store.tables.coordination import CarePlan, CaseloadEntry, PathwayInstance
from joinedup.store.tables.governance import AuditEntry
from joinedup.store.tables.risk import RiskScore

from .borough import BoroughTruth
from .conftest import BOROUGH_PEOPLE

AS_OF = date(2025, 1, 1)
PRACTICE = "P81001"


def test_bands_follow_population_percentiles() -> None:
    people = 1000
    bands = [band_for_rank(rank, people) for rank in range(1, people + 1)]
    assert bands.count("very_high") == 5
    assert bands.count("high") == 50 - 5
    assert bands.count("moderate") == 200 - 50
    assert bands.count("low") == 800


def test_score_population_stores_everyone_with_version_date_and_reasons(
    sqlite_session: Session,
    borough: tuple[duckdb.DuckDBPyConnection, BoroughTruth],
    trained: TrainingResult,
    models_dir: Path,
) -> None:
    # SQLite only: scoring is engine-neutral SQLAlchemy Core; the cohort tests cover PostgreSQL.
    session = sqlite_session
    con, _ = borough
    summary = score_population(session, con, models_dir=models_dir, as_of=AS_OF, model_version=trained.version)
    assert summary.people == BOROUGH_PEOPLE
    assert summary.by_band["very_high"] == math.ceil(0.005 * BOROUGH_PEOPLE)
    rows = session.scalars(select(RiskScore).order_by(RiskScore.population_rank)).all()
    assert len(rows) == BOROUGH_PEOPLE
    assert {row.model_version for row in rows} == {trained.version}
    assert {row.as_of_date for row in rows} == {AS_OF}
    assert [row.population_rank for row in rows] == list(range(1, BOROUGH_PEOPLE + 1))
    assert all(a.score >= b.score for a, b in pairwise(rows))
    assert rows[0].band == "very_high"
    assert rows[0].reasons, "the highest-risk person has reasons"
    # Running again for the same date and model replaces the run instead of doubling it.
    score_population(session, con, models_dir=models_dir, as_of=AS_OF, model_version=trained.version)
    assert session.scalar(select(func.count()).select_from(RiskScore)) == BOROUGH_PEOPLE


def _person(session: Session, person_id: str, practice: str) -> None:
    session.add(Person(person_id=person_id))
    session.add(SourcePatient(source="gp", local_id=f"gp-{person_id}", person_id=person_id,
                              registered_practice_code=practice, nhs_number_status="valid",
                              nhs_number=f"999000000{person_id[-1]}", given_name="Sam", family_name=f"Test-{person_id}",
                              birth_date=date(1940, 1, 1)))


def _score(session: Session, person_id: str, score: float, as_of: date, practice: str = PRACTICE) -> None:
    session.add(RiskScore(person_id=person_id, model_version="eadm-test", as_of_date=as_of, practice_code=practice,
                          score=score, population_rank=0, band="high", efi_count=3, efi_category="fit",
                          charlson_index=1, reasons=[f"reason of {person_id}"]))


@pytest.fixture
def practice_lists(session: Session) -> Session:
    """Five patients of P81001 and one of another practice, scored last week and this week."""
    for number in range(1, 6):
        _person(session, f"c{number}", PRACTICE)
    _person(session, "other", "P81999")
    session.flush()
    last_week, this_week = date(2024, 12, 25), AS_OF
    for person_id, score in (("c1", 0.9), ("c2", 0.8), ("c3", 0.7), ("c4", 0.2), ("c5", 0.1)):
        _score(session, person_id, score, last_week)
    for person_id, score in (("c1", 0.9), ("c4", 0.85), ("c2", 0.6), ("c3", 0.3), ("c5", 0.1)):
        _score(session, person_id, score, this_week)
    _score(session, "other", 0.99, this_week, practice="P81999")
    session.add(PathwayInstance(person_id="c4", pathway_id="frailty-review", pathway_version=1, status="active"))
    session.add(CarePlan(person_id="c1", status="active", title="Anticipatory care plan", author="u-gp"))
    session.add(CaseloadEntry(person_id="c1", team_id="ccc", coordinator_user_id="u-coord", reason="referral"))
    session.flush()
    return session


GP = Actor(user_id="u-gp", username="dr.gp", role="gp", org_code=PRACTICE)


def test_practice_cohort_lists_the_top_people_with_reasons_and_what_is_in_place(practice_lists: Session) -> None:
    cohort = practice_cohort_report(practice_lists, actor=GP, practice_code=PRACTICE, top=3)
    assert [entry.person_id for entry in cohort.entries] == ["c1", "c4", "c2"]
    assert cohort.as_of_date == AS_OF
    assert cohort.compared_with == date(2024, 12, 25)
    # c4 rose into the top 3 this week; c1 and c2 were there last week.
    assert [entry.new_entrant for entry in cohort.entries] == [False, True, False]
    first, second, third = cohort.entries
    assert first.reasons == ("reason of c1",)
    # Direct care: the GP sees who they are.
    assert (first.name, first.nhs_number, first.birth_date) == ("Sam Test-c1", "9990000001", date(1940, 1, 1))
    assert first.in_place.care_plan
    assert first.in_place.care_coordinator
    assert second.in_place.pathways == ("frailty-review",)
    assert not third.in_place.care_plan
    assert not third.in_place.on_caseload
    assert practice_cohort(practice_lists, actor=GP, practice_code=PRACTICE, top=3) == cohort.entries


def test_practice_cohort_is_audited_per_person_and_for_the_list(practice_lists: Session) -> None:
    practice_cohort(practice_lists, actor=GP, practice_code=PRACTICE, top=3)
    audited = practice_lists.scalars(
        select(AuditEntry.person_id).where(AuditEntry.user_id == "u-gp", AuditEntry.resource_type == "cohort")
    ).all()
    assert sorted(p for p in audited if p) == ["c1", "c2", "c4"]
    assert audited.count(None) == 1  # the list view itself


def test_a_gp_of_another_practice_is_refused_and_the_refusal_audited(practice_lists: Session) -> None:
    stranger = Actor(user_id="u-other", username="dr.other", role="gp", org_code="P81999")
    with pytest.raises(AccessDenied):
        practice_cohort(practice_lists, actor=stranger, practice_code=PRACTICE, top=3)
    outcomes = practice_lists.scalars(
        select(AuditEntry.outcome).where(AuditEntry.user_id == "u-other", AuditEntry.person_id.is_not(None))
    ).all()
    assert outcomes == ["denied", "denied", "denied"]


def test_an_analyst_cannot_see_identifiable_lists(practice_lists: Session) -> None:
    analyst = Actor(user_id="u-analyst", username="analyst", role="analyst", org_code=PRACTICE)
    with pytest.raises(AccessDenied):
        practice_cohort(practice_lists, actor=analyst, practice_code=PRACTICE, top=5)


def test_latest_person_risk_is_read_through_the_access_decision(practice_lists: Session) -> None:
    risk = latest_person_risk(practice_lists, actor=GP, person_id="c4")
    assert risk is not None
    assert (risk.as_of_date, risk.score, risk.reasons) == (AS_OF, 0.85, ("reason of c4",))
    stranger = Actor(user_id="u-other", username="dr.other", role="gp", org_code="P81999")
    with pytest.raises(AccessDenied):
        latest_person_risk(practice_lists, actor=stranger, person_id="c4")


def test_rescoring_after_a_load_waits_for_a_trained_model(sqlite_session: Session, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    assert rescore_population(sqlite_session, settings) is None
    assert sqlite_session.scalar(select(func.count()).select_from(RiskScore)) == 0
