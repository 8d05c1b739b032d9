"""The JSON API of the shared care record (documented at /api/openapi.json).

Same services, same governance, same audit as the pages; callers use a bearer token from
``POST /auth/token`` (or a browser session, with the ``X-CSRF-Token`` header on writes).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from joinedup import record
from joinedup.web.deps import CurrentUser, DbSession, SearchThrottle, TokenScopes, require_scope

router = APIRouter(prefix="/api", tags=["record API"])


class ActorPublic(BaseModel):
    """Who the caller is signed in as."""

    user_id: str
    username: str
    role: str
    org_code: str | None
    team_ids: list[str]
    person_id: str | None


class PatientSearch(BaseModel):
    """Find a person: an NHS number, or a name with a date of birth."""

    model_config = ConfigDict(extra="forbid")

    nhs_number: str | None = Field(default=None, max_length=20, examples=["943 476 5919"])
    name: str | None = Field(default=None, max_length=100, examples=["Ann Example"])
    birth_date: date | None = None


@router.get("/me")
def me(user: CurrentUser) -> ActorPublic:
    """The signed-in user (role, organisation, teams)."""
    return ActorPublic(
        user_id=user.user_id,
        username=user.username,
        role=user.role,
        org_code=user.org_code,
        team_ids=list(user.team_ids),
        person_id=user.person_id,
    )


@router.post("/patients/search")
def search_patients(
    body: PatientSearch, db: DbSession, user: CurrentUser, scopes: TokenScopes, _throttle: SearchThrottle
) -> list[record.PatientMatch]:
    """Matches the caller may open come with demographics; others only with the reason."""
    require_scope(scopes, "Patient")
    return record.search_patients(
        db, actor=user, nhs_number=body.nhs_number, name=body.name, birth_date=body.birth_date
    )


@router.get("/patients/{person_id}")
def patient_record(
    person_id: str,
    db: DbSession,
    user: CurrentUser,
    scopes: TokenScopes,
    sections: Annotated[list[str] | None, Query(description="sections to include; all by default")] = None,
) -> record.PatientRecord:
    """A person's shared care record: every section the caller may see, each item with its source."""
    require_scope(scopes, "Patient")
    return record.patient_record(db, actor=user, person_id=person_id, sections=sections)


@router.get("/patients/{person_id}/access-history")
def access_history(person_id: str, db: DbSession, user: CurrentUser) -> list[record.RecordLook]:
    """Who has looked at the person's record (the person themself, or information governance)."""
    return record.access_history(db, actor=user, person_id=person_id)


@router.get("/integration/status")
def integration_status(db: DbSession, user: CurrentUser) -> record.IntegrationStatus:
    """Feeds, last messages, open quarantine by reason, outbox lag."""
    return record.integration_status(db, actor=user)
