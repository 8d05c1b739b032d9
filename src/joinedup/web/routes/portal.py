"""The patient portal: my summary, my care plan, my appointments, and who has looked at my record."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from joinedup import record
from joinedup.errors import AccessDenied
from joinedup.model import Actor
from joinedup.store.tables.base import utc_now
from joinedup.web.deps import CurrentUser, DbSession, Templates

router = APIRouter(prefix="/portal", tags=["portal"], include_in_schema=False)


def _own_person_id(user: Actor) -> str:
    """The person the signed-in patient is; other users have no portal."""
    if user.person_id is None:
        raise AccessDenied("the portal is for patients; sign in with your own NHS login")
    return user.person_id


@router.get("", response_class=HTMLResponse)
def my_record(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """My summary, care plan and coming appointments."""
    patient = record.patient_record(db, actor=user, person_id=_own_person_id(user), sections=record.PORTAL_SECTIONS)
    now = utc_now()
    coming = [
        entry for entry in patient.timeline if entry.start_at is not None and entry.start_at >= now
        and entry.status in ("planned", "booked", "arrived")
    ]
    return templates.TemplateResponse(request, "portal/summary.html", {"record": patient, "coming": coming})


@router.get("/who-looked", response_class=HTMLResponse)
def who_looked(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """Who has looked at my record, when and why."""
    looks = record.access_history(db, actor=user, person_id=_own_person_id(user))
    return templates.TemplateResponse(request, "portal/who_looked.html", {"looks": looks})
