"""Fixtures for the coordination centre's tests: teams, actors, people, and ADT news as outbox rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from joinedup.coordination.discharge_support import DISCHARGE_TEAM_ID
from joinedup.coordination.referrals import CENTRE_TEAM_ID
from joinedup.governance import ensure_team
from joinedup.model import Actor
from joinedup.store.tables import Encounter, Observation, OutboxEvent, Person, SourcePatient

PAS = "RM3-PAS"


@pytest.fixture
def teams(session: Session) -> None:
    """The coordination centre and the voluntary discharge service, as governance teams."""
    ensure_team(session, team_id=CENTRE_TEAM_ID, name="Care coordination centre", kind="coordination_centre")
    ensure_team(session, team_id=DISCHARGE_TEAM_ID, name="Red Cross discharge support", kind="discharge_service")
    session.commit()


@pytest.fixture
def coordinator(teams: None) -> Actor:
    return Actor(
        user_id="u-coord-1", username="coordinator.one", role="care_coordinator", org_code="CCC01",
        team_ids=(CENTRE_TEAM_ID,),
    )


@pytest.fixture
def discharge_lead(teams: None) -> Actor:
    """The voluntary service's team lead who confirms the worklist (a volunteer-service role)."""
    return Actor(
        user_id="u-dlead-1", username="discharge.lead", role="discharge_volunteer", org_code="VOL01",
        team_ids=(DISCHARGE_TEAM_ID,),
    )


@pytest.fixture
def volunteer(teams: None) -> Actor:
    return Actor(
        user_id="u-vol-1", username="volunteer.one", role="discharge_volunteer", org_code="VOL01",
        team_ids=(DISCHARGE_TEAM_ID,),
    )


PersonFactory = Callable[..., str]


@pytest.fixture
def add_person(session: Session) -> PersonFactory:
    """Add a linked person with one PAS source record; returns the person_id."""
    counter = {"n": 0}

    def make(
        person_id: str | None = None,
        *,
        given_name: str = "Ada",
        family_name: str = "Testperson",
        birth_date: date = date(1940, 5, 17),
        nhs_number: str | None = None,
        practice: str | None = "P81001",
    ) -> str:
        counter["n"] += 1
        person_id = person_id or f"p{counter['n']:05d}"
        session.add(Person(person_id=person_id))
        session.flush()
        session.add(
            SourcePatient(
                source=PAS,
                local_id=f"MRN{counter['n']:06d}",
                person_id=person_id,
                given_name=given_name,
                family_name=family_name,
                birth_date=birth_date,
                nhs_number=nhs_number,
                nhs_number_given=nhs_number,
                nhs_number_status="valid" if nhs_number else "missing",
                registered_practice_code=practice,
                link_method="nhs_number",
            )
        )
        session.flush()
        return person_id

    return make


def source_patient_id(session: Session, person_id: str) -> int:
    query = session.query(SourcePatient).filter_by(person_id=person_id)
    patient = query.order_by(SourcePatient.source_patient_id).first()
    assert patient is not None
    return patient.source_patient_id


def add_outbox_event(
    session: Session, kind: str, person_id: str, occurred_at: datetime, **payload: Any
) -> OutboxEvent:
    """An outbox row shaped like the feeds contract (kind, source patient, payload, time)."""
    sp_id = source_patient_id(session, person_id)
    event = OutboxEvent(
        kind=kind,
        source_patient_id=sp_id,
        payload={"source_patient_id": sp_id, **payload},
        occurred_at=occurred_at,
    )
    session.add(event)
    session.flush()
    return event


def add_observation(
    session: Session, person_id: str, code: str, value: float, unit: str, at: datetime, record_id: str
) -> None:
    session.add(
        Observation(
            source="telehealth",
            source_record_id=record_id,
            source_patient_id=source_patient_id(session, person_id),
            code=code,
            code_system="http://loinc.org",
            category="telehealth",
            value_num=value,
            unit=unit,
            effective_at=at,
        )
    )
    session.flush()


def add_encounter(session: Session, person_id: str, **values: Any) -> None:
    values.setdefault("source", PAS)
    values.setdefault("source_record_id", f"E{datetime.now(UTC).timestamp()}")
    session.add(Encounter(source_patient_id=source_patient_id(session, person_id), **values))
    session.flush()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
