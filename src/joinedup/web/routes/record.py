"""Pages of the shared care record: find a patient, then their summary, timeline and results.

The search is a POST so identifiers never sit in URLs (browser history, proxies, logs).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from joinedup import record
from joinedup.errors import InvalidInput
from joinedup.web.deps import CurrentUser, DbSession, SearchThrottle, Templates

router = APIRouter(prefix="/patients", tags=["record pages"], include_in_schema=False)

SUMMARY_SECTIONS = frozenset(record.SECTIONS) - {"timeline", "results"}


def _birth_date(day: str, month: str, year: str) -> date | None:
    """The date from the three boxes; None when all are empty; InvalidInput when it is not a date."""
    if not (day.strip() or month.strip() or year.strip()):
        return None
    try:
        value = date(int(year), int(month), int(day))
    except ValueError as exc:
        raise InvalidInput("Date of birth must be a real date, for example 2 3 1948") from exc
    if value > date.today() or value.year < 1880:
        raise InvalidInput("Date of birth must be in the past")
    return value


@router.get("", response_class=HTMLResponse)
def search_page(request: Request, user: CurrentUser, templates: Templates) -> Response:
    """The find-a-patient form."""
    return templates.TemplateResponse(request, "record/search.html", {"form": {}, "matches": None, "error": None})


@router.post("/search", response_class=HTMLResponse)
def search(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    templates: Templates,
    _throttle: SearchThrottle,
    nhs_number: Annotated[str, Form(max_length=20)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    birth_day: Annotated[str, Form(max_length=2)] = "",
    birth_month: Annotated[str, Form(max_length=2)] = "",
    birth_year: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    """Find people by NHS number, or name with date of birth; matches pass governance one by one."""
    form = {"nhs_number": nhs_number, "name": name, "day": birth_day, "month": birth_month, "year": birth_year}
    try:
        matches = record.search_patients(
            db,
            actor=user,
            nhs_number=nhs_number or None,
            name=name or None,
            birth_date=_birth_date(birth_day, birth_month, birth_year),
        )
    except InvalidInput as exc:
        return templates.TemplateResponse(
            request, "record/search.html", {"form": form, "matches": None, "error": str(exc)}, status_code=422
        )
    return templates.TemplateResponse(request, "record/search.html", {"form": form, "matches": matches, "error": None})


@router.get("/{person_id}", response_class=HTMLResponse)
def summary(request: Request, person_id: str, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """The patient's summary: where they are, flags, problems, medicines, allergies, care."""
    patient = record.patient_record(db, actor=user, person_id=person_id, sections=SUMMARY_SECTIONS)
    return templates.TemplateResponse(request, "record/summary.html", {"record": patient, "tab": "summary"})


@router.get("/{person_id}/timeline", response_class=HTMLResponse)
def timeline(request: Request, person_id: str, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """Every encounter in every setting, newest first, with where each came from."""
    patient = record.patient_record(
        db, actor=user, person_id=person_id, sections={"demographics", "timeline", "location", "flags"}
    )
    return templates.TemplateResponse(request, "record/timeline.html", {"record": patient, "tab": "timeline"})


@router.get("/{person_id}/results", response_class=HTMLResponse)
def results(request: Request, person_id: str, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """Tests and readings: latest value and its trend."""
    patient = record.patient_record(
        db, actor=user, person_id=person_id, sections={"demographics", "results", "location", "flags"}
    )
    return templates.TemplateResponse(request, "record/results.html", {"record": patient, "tab": "results"})
