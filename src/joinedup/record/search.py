"""Finding a person: by NHS number, or by family name with date of birth (a trace, not a browse).

A name alone is refused: that would list strangers. Every match passes governance
(``action="search"``); a match the actor has no relationship with is returned without any
demographics, with the reason and the person id (for break-glass); a sensitive person the actor
may not know of is left out. Each decision is audited, and a search that finds nobody is audited
too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup import governance
from joinedup.errors import AccessDenied, InvalidInput, NotFound
from joinedup.model import Actor
from joinedup.record._rows import organisation_names
from joinedup.record.patient_record import _by_preference
from joinedup.store.tables import Person, SourcePatient

MAX_MATCHES = 20
SHOWN_FIELDS = ("nhs_number", "given_name", "family_name", "birth_date", "sex", "postcode", "registered_practice_code")


@dataclass(frozen=True)
class PatientMatch:
    """One person a search found; demographics only when the actor may see them."""

    person_id: str
    allowed: bool
    refusal: str | None = None
    nhs_number: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    postcode: str | None = None
    registered_practice_code: str | None = None
    registered_practice_name: str | None = None
    source_count: int = 0


def normalise_nhs_number(raw: str) -> str:
    """Digits only ('943 476 5919' → '9434765919'); InvalidInput if not ten digits."""
    digits = re.sub(r"[\s-]", "", raw)
    if not re.fullmatch(r"\d{10}", digits):
        raise InvalidInput("an NHS number has 10 digits")
    return digits


def search_patients(
    session: Session,
    *,
    actor: Actor,
    nhs_number: str | None = None,
    name: str | None = None,
    birth_date: date | None = None,
) -> list[PatientMatch]:
    """Find people by NHS number, or by family name (optionally with given name) and birth date.

    Raises:
        InvalidInput: neither an NHS number nor a name with a date of birth was given.
    """
    query = select(SourcePatient.person_id).join(Person, Person.person_id == SourcePatient.person_id)
    query = query.where(Person.status == "active")
    if nhs_number and nhs_number.strip():
        query = query.where(SourcePatient.nhs_number == normalise_nhs_number(nhs_number))
        criteria = "nhs_number"
    elif name and name.strip() and birth_date is not None:
        words = [word.lower() for word in re.split(r"[\s,]+", name.strip()) if word]
        family = func.lower(SourcePatient.family_name)
        given = func.lower(SourcePatient.given_name)
        # The last word is the family name ("Ann Smith"); "Smith, Ann" and "Smith" work too.
        query = query.where(SourcePatient.birth_date == birth_date, family.in_(words))
        if len(words) > 1:
            query = query.where(given.in_(words))
        criteria = "name_and_birth_date"
    else:
        raise InvalidInput("search with an NHS number, or a name together with a date of birth")
    person_ids = [pid for pid in session.scalars(query.distinct().limit(MAX_MATCHES)) if pid is not None]
    if not person_ids:
        governance.record_audit(
            session, actor=actor, action="search", resource_type="patient", detail=f"by {criteria}: no match"
        )
        return []
    return _matches(session, actor, sorted(person_ids), criteria)


def _matches(session: Session, actor: Actor, person_ids: list[str], criteria: str) -> list[PatientMatch]:
    patients: dict[str, list[SourcePatient]] = {}
    for patient in session.scalars(select(SourcePatient).where(SourcePatient.person_id.in_(person_ids))):
        assert patient.person_id is not None
        patients.setdefault(patient.person_id, []).append(patient)
    practice_names = organisation_names(
        session, (p.registered_practice_code for group in patients.values() for p in group)
    )
    matches = []
    for person_id in person_ids:
        try:
            decision = governance.authorise(
                session,
                actor=actor,
                person_id=person_id,
                resource_type="patient",
                action="search",
                detail=f"by {criteria}",
            )
        except NotFound:
            continue
        except AccessDenied as exc:
            matches.append(PatientMatch(person_id=person_id, allowed=False, refusal=exc.reason))
            continue
        ordered = _by_preference(patients.get(person_id, []))
        values: dict[str, Any] = {
            name: next((getattr(p, name) for p in ordered if getattr(p, name)), None) for name in SHOWN_FIELDS
        }
        shown = {name: value if decision.can_see(name) else None for name, value in values.items()}
        practice = shown["registered_practice_code"]
        matches.append(
            PatientMatch(
                person_id=person_id,
                allowed=True,
                registered_practice_name=practice_names.get(practice) if practice else None,
                source_count=len(ordered),
                **shown,
            )
        )
    return matches
