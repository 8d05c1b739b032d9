"""Governance test factories: people registered at practices, hospital stays, actors."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from joinedup.model import Actor
from joinedup.store.tables import Encounter, Person, SourcePatient
from joinedup.store.tables.base import utc_now

_counter = itertools.count(1)


def nhs_number(index: int) -> str:
    """A valid test-range NHS number (9990000000 + index with its check digit)."""
    base = f"999{index:06d}"
    total = sum(int(d) * w for d, w in zip(base, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    if check == 10:
        return nhs_number(index + 100000)
    return base + str(check)


@dataclass(frozen=True)
class PersonMade:
    person_id: str
    source_patient_id: int
    nhs_number: str


def make_person(
    session: Session,
    *,
    practice: str = "P00001",
    sensitive: bool = False,
    nhs: str | None = None,
    birth_date: date = date(1950, 5, 17),
    sex: str = "female",
    source: str = "gp",
) -> PersonMade:
    """A person with one GP source record registered at ``practice``."""
    number = next(_counter)
    person_id = f"per{number:08d}"
    nhs = nhs or nhs_number(number)
    session.add(Person(person_id=person_id, status="active"))
    session.flush()
    patient = SourcePatient(
        source=source,
        local_id=f"L{number}",
        nhs_number_given=nhs,
        nhs_number=nhs,
        nhs_number_status="valid",
        given_name="Ada",
        family_name=f"Testperson{number}",
        birth_date=birth_date,
        sex=sex,
        postcode="LS1 4AP",
        registered_practice_code=practice,
        sensitive_flag=sensitive,
        person_id=person_id,
    )
    session.add(patient)
    session.flush()
    return PersonMade(person_id, patient.source_patient_id, nhs)


def admit(session: Session, person: PersonMade, *, org_code: str, ended_hours_ago: float | None = None) -> Encounter:
    """An inpatient stay at ``org_code``: in progress, or ended some hours ago."""
    now = utc_now()
    encounter = Encounter(
        source="hospital-pas",
        source_record_id=f"S{next(_counter)}",
        source_patient_id=person.source_patient_id,
        setting="inpatient",
        status="in-progress" if ended_hours_ago is None else "finished",
        start_at=now - timedelta(days=3),
        end_at=None if ended_hours_ago is None else now - timedelta(hours=ended_hours_ago),
        org_code=org_code,
    )
    session.add(encounter)
    session.flush()
    return encounter


def actor(role: str, *, org: str | None = None, teams: tuple[str, ...] = (), person_id: str | None = None) -> Actor:
    """An actor without a stored user (access decisions need only the actor)."""
    number = next(_counter)
    return Actor(
        user_id=f"u{number}", username=f"{role}{number}", role=role, org_code=org, team_ids=teams, person_id=person_id
    )
