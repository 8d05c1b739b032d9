"""Queries the record's services share: the surviving person, their source patients, section access."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup import governance
from joinedup.errors import AccessDenied, NotFound
from joinedup.model import Actor
from joinedup.store.tables import Organisation, Person, SourcePatient


def surviving_person_id(session: Session, person_id: str) -> str:
    """The person's id after following merges (a merged person's record lives on the survivor).

    Raises:
        NotFound: no such person.
    """
    seen: set[str] = set()
    person = session.get(Person, person_id)
    while person is not None and person.merged_into_person_id and person.person_id not in seen:
        seen.add(person.person_id)
        person = session.get(Person, person.merged_into_person_id)
    if person is None:
        raise NotFound("no such person")
    return person.person_id


def source_patients(session: Session, person_id: str) -> list[SourcePatient]:
    """Every source system's record linked to the person."""
    return list(
        session.scalars(
            select(SourcePatient)
            .where(SourcePatient.person_id == person_id)
            .order_by(SourcePatient.source, SourcePatient.source_patient_id)
        )
    )


def organisation_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Names of the organisations with these codes (one query)."""
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    query = select(Organisation.org_code, Organisation.name).where(Organisation.org_code.in_(wanted))
    return {row.org_code: row.name for row in session.execute(query)}


@dataclass(frozen=True)
class SectionAccess:
    """Governance's answer for one resource type of one person's record."""

    resource_type: str
    decision: governance.AccessDecision | None
    refusal: str | None

    @property
    def allowed(self) -> bool:
        """Whether the section may be shown."""
        return self.decision is not None

    def can_see(self, field_name: str) -> bool:
        """Whether a field of the section may be shown."""
        return self.decision is not None and self.decision.can_see(field_name)

    @property
    def sealed_allowed(self) -> bool:
        """Whether sealed items may be shown."""
        return self.decision is not None and self.decision.sealed_allowed


def authorise_sections(
    session: Session,
    *,
    actor: Actor,
    person_id: str,
    resource_types: Iterable[str],
    action: str = "read",
    detail: str = "",
    gate: str | None = None,
) -> dict[str, SectionAccess]:
    """Ask governance about every resource type at once; a refusal withholds that section only.

    One batched decision (``governance.authorise_many``): the actor's relationships with the
    person are looked up once and each type is audited. ``gate`` names a type whose refusal
    refuses everything (``AccessDenied`` is raised). ``NotFound`` (no such person, or a
    sensitive person the caller may not know of) is raised: nothing is shown.
    """
    answers = governance.authorise_many(
        session,
        actor=actor,
        person_id=person_id,
        resource_types=list(resource_types),
        action=action,
        detail=detail,
        gate=gate,
    )
    return section_access(answers)


def section_access(answers: governance.AccessAnswers) -> dict[str, SectionAccess]:
    """Governance's answers as each section sees them (allowed with a decision, or withheld why)."""
    return {
        resource_type: SectionAccess(resource_type, None, answer.reason)
        if isinstance(answer, AccessDenied)
        else SectionAccess(resource_type, answer, None)
        for resource_type, answer in answers.items()
    }
