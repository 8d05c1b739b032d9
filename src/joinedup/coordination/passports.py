"""The patient passport: a short, person-centred record the person agrees to.

What happened, how they like to be addressed, who matters to them, food and drink, communication
needs, mobility aids, the key safe, pets, what worries them. Written by the person or the
volunteer (with the person's agreement), read by their care team, printed on one page.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from joinedup.coordination.errors import CoordinationInputError
from joinedup.errors import NotFound
from joinedup.governance import authorise
from joinedup.model import Actor
from joinedup.store.tables import Person, utc_now
from joinedup.store.tables.coordination import PatientPassport

PASSPORT_FIELDS = (
    "what_happened",
    "how_to_address_me",
    "who_matters",
    "food_and_drink",
    "communication_needs",
    "mobility_aids",
    "key_safe",
    "pets",
    "worries",
)
PASSPORT_LABELS = {
    "what_happened": "What happened and how it was dealt with",
    "how_to_address_me": "How I like to be addressed",
    "who_matters": "Who matters to me",
    "food_and_drink": "Food and drink I like",
    "communication_needs": "How to communicate with me",
    "mobility_aids": "Mobility aids",
    "key_safe": "Key safe",
    "pets": "Pets",
    "worries": "What worries me",
}


class PassportUpdate(BaseModel):
    """Changes to a passport: only the fields given are changed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_given: bool | None = None
    what_happened: str | None = Field(default=None, max_length=2000)
    how_to_address_me: str | None = Field(default=None, max_length=120)
    who_matters: str | None = Field(default=None, max_length=2000)
    food_and_drink: str | None = Field(default=None, max_length=2000)
    communication_needs: str | None = Field(default=None, max_length=2000)
    mobility_aids: str | None = Field(default=None, max_length=200)
    key_safe: str | None = Field(default=None, max_length=200)
    pets: str | None = Field(default=None, max_length=200)
    worries: str | None = Field(default=None, max_length=2000)


class PassportPublic(BaseModel):
    """A person's passport as the care team sees it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    person_id: str
    consent_given_flag: bool
    what_happened: str | None
    how_to_address_me: str | None
    who_matters: str | None
    food_and_drink: str | None
    communication_needs: str | None
    mobility_aids: str | None
    key_safe: str | None
    pets: str | None
    worries: str | None
    updated_by: str
    updated_at: datetime


def write_passport(
    session: Session, *, actor: Actor, person_id: str, update: PassportUpdate, at: datetime | None = None
) -> PassportPublic:
    """Write (or change) a person's passport. The person must have agreed to it first.

    Raises:
        CoordinationInputError: there is no agreement from the person on record.
    """
    if session.get(Person, person_id) is None:
        raise NotFound("no such person")
    authorise(session, actor=actor, person_id=person_id, resource_type="passport", action="write")
    passport = session.get(PatientPassport, person_id)
    if passport is None:
        passport = PatientPassport(person_id=person_id, consent_given_flag=False, updated_by=actor.user_id)
        session.add(passport)
    if update.consent_given is not None:
        passport.consent_given_flag = update.consent_given
    if not passport.consent_given_flag:
        raise CoordinationInputError("the person has not agreed to a passport: ask them first and record it")
    for name in PASSPORT_FIELDS:
        value = getattr(update, name)
        if value is not None:
            setattr(passport, name, value.strip() or None)
    passport.updated_by = actor.user_id
    passport.updated_at = at or utc_now()
    session.commit()
    return PassportPublic.model_validate(passport)


def read_passport(session: Session, *, actor: Actor, person_id: str) -> PassportPublic | None:
    """A person's passport (None if they have none)."""
    authorise(session, actor=actor, person_id=person_id, resource_type="passport", action="read")
    passport = session.get(PatientPassport, person_id)
    session.commit()
    return PassportPublic.model_validate(passport) if passport is not None else None
