"""Pages of the care coordination centre: the live board, the queue, the quick referral form,
triage, the patient page (pathway steps, tasks, bookings) and the pathway library; plus the JSON
behind the board. Patient searches are POSTs so identifiers never sit in URLs.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.coordination import (
    bookings,
    discharge_measures,
    fhir_resources,
    pathway_instances,
    patient_view,
    referrals,
    shipped_library,
    tasks,
)
from joinedup.coordination.board import board
from joinedup.coordination.schemas import BoardFilters, ReferralCreate, TriageDecision
from joinedup.errors import InvalidInput
from joinedup.web.deps import CurrentUser, DbSession, Templates

router = APIRouter(tags=["coordination"], include_in_schema=False)

FLAGS = ("admitted", "overdue_step", "new_high_risk", "alert")
URGENCIES = ("routine", "urgent", "asap", "stat")


class BoardQuery:
    """The board's filter boxes as sent in the query string: one definition for the page, the rows
    htmx polls and the JSON, so the three always filter alike."""

    def __init__(
        self,
        coordinator: Annotated[str, Query(max_length=64)] = "",
        neighbourhood: Annotated[str, Query(max_length=80)] = "",
        pathway: Annotated[str, Query(max_length=40)] = "",
        flag: Annotated[str, Query(max_length=16)] = "",
    ) -> None:
        self.form = {"coordinator": coordinator, "neighbourhood": neighbourhood, "pathway": pathway, "flag": flag}
        self.filters = BoardFilters(
            coordinator_user_id=coordinator or None,
            neighbourhood=neighbourhood or None,
            pathway_id=pathway or None,
            flag=flag if flag in FLAGS else None,
        )


BoardFilterQuery = Annotated[BoardQuery, Depends()]


@router.get("/coordination", response_class=HTMLResponse)
def board_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    templates: Templates,
    query: BoardFilterQuery,
) -> Response:
    """The live board of everyone the centre is responsible for (refreshes itself every 5 seconds)."""
    rows = board(db, actor=user, filters=query.filters)
    context = {
        "rows": rows,
        "filters": query.form,
        "flags": FLAGS,
        "pathways": shipped_library().ids(),
        "query": request.url.query,
    }
    return templates.TemplateResponse(request, "coordination/board.html", context)


@router.get("/coordination/board-rows", response_class=HTMLResponse)
def board_rows(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    templates: Templates,
    query: BoardFilterQuery,
) -> Response:
    """The board's rows alone (htmx polls this)."""
    rows = board(db, actor=user, filters=query.filters)
    return templates.TemplateResponse(request, "coordination/_board_rows.html", {"rows": rows})


@router.get("/api/coordination/board")
def board_json(
    db: DbSession,
    user: CurrentUser,
    query: BoardFilterQuery,
) -> JSONResponse:
    """The board as JSON (the same rows the page shows)."""
    rows = board(db, actor=user, filters=query.filters)
    return JSONResponse([_jsonable(dataclasses.asdict(row)) for row in rows])


@router.get("/api/discharge/measures")
def discharge_measures_json(
    db: DbSession,
    user: CurrentUser,
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
) -> JSONResponse:
    """The discharge service's measures for a period (commissioners; outcomes labelled observational)."""
    measures = discharge_measures.discharge_measures(db, actor=user, start=start, end=end)
    return JSONResponse(_jsonable(dataclasses.asdict(measures)))


@router.get("/coordination/queue", response_class=HTMLResponse)
def queue_page(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """The tasks of the user's teams, most pressing first."""
    queue = tasks.queue(db, actor=user)
    return templates.TemplateResponse(request, "coordination/queue.html", {"tasks": queue, "now": datetime.now(UTC)})


@router.post("/coordination/tasks/{task_id}/complete")
def complete_task(
    task_id: int,
    db: DbSession,
    user: CurrentUser,
    outcome: Annotated[str, Form(min_length=1, max_length=400)],
    back: Annotated[str, Form(max_length=200)] = "/coordination/queue",
) -> Response:
    """Mark a task done with its outcome."""
    tasks.complete_task(db, actor=user, task_id=task_id, outcome=outcome)
    return RedirectResponse(_local(back), status_code=303)


@router.post("/coordination/tasks/{task_id}/book")
def book_task(
    task_id: int,
    db: DbSession,
    user: CurrentUser,
    service_id: Annotated[str, Form(max_length=40)],
    day: Annotated[date, Form()],
    at_time: Annotated[time, Form()],
    back: Annotated[str, Form(max_length=200)] = "/coordination/queue",
) -> Response:
    """Book a service for a task (the pathway moves on when the step's tasks are all done)."""
    bookings.book(
        db, actor=user, task_id=task_id, service_id=service_id,
        booked_for_at=datetime.combine(day, at_time, tzinfo=UTC),
    )
    return RedirectResponse(_local(back), status_code=303)


@router.get("/coordination/referrals/new", response_class=HTMLResponse)
def new_referral(request: Request, user: CurrentUser, templates: Templates) -> Response:
    """The quick referral form: find the patient, then reason, urgency, pathway, notes."""
    return templates.TemplateResponse(request, "coordination/referral_form.html", _referral_context({}, None, None))


@router.post("/coordination/referrals/find", response_class=HTMLResponse)
def find_patient(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    templates: Templates,
    nhs_number: Annotated[str, Form(max_length=20)] = "",
    family_name: Annotated[str, Form(max_length=100)] = "",
    birth_date: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Find the patient for the referral form (by NHS number, or family name and date of birth)."""
    form = {"nhs_number": nhs_number, "family_name": family_name, "birth_date": birth_date}
    try:
        born = date.fromisoformat(birth_date) if birth_date else None
        matches = referrals.find_patients(
            db, actor=user, nhs_number=nhs_number or None, family_name=family_name or None, birth_date=born
        )
    except (InvalidInput, ValueError) as exc:
        message = str(exc) if isinstance(exc, InvalidInput) else "Date of birth must be a real date"
        return templates.TemplateResponse(
            request, "coordination/referral_form.html", _referral_context(form, None, message), status_code=422
        )
    context = _referral_context(form, matches, None)
    return templates.TemplateResponse(request, "coordination/referral_form.html", context)


@router.post("/coordination/referrals")
def create_referral(
    db: DbSession,
    user: CurrentUser,
    person_id: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(min_length=3, max_length=400)],
    urgency: Annotated[str, Form(max_length=8)] = "routine",
    pathway_id: Annotated[str, Form(max_length=40)] = "",
    notes: Annotated[str, Form(max_length=4000)] = "",
    referrer: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    """Take the referral; go to its triage page."""
    request_body = ReferralCreate(
        person_id=person_id,
        reason=reason,
        urgency=urgency if urgency in URGENCIES else "routine",
        suggested_pathway_id=pathway_id or None,
        notes=notes or None,
        referrer_name=referrer or None,
    )
    referral = referrals.receive_referral(db, actor=user, request=request_body)
    return RedirectResponse(f"/coordination/referrals/{referral.referral_id}", status_code=303)


@router.get("/coordination/referrals", response_class=HTMLResponse)
def referral_list(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """Referrals waiting for triage, most urgent first."""
    waiting = referrals.list_referrals(db, actor=user)
    return templates.TemplateResponse(request, "coordination/referrals.html", {"referrals": waiting})


@router.get("/coordination/referrals/{referral_id}", response_class=HTMLResponse)
def referral_page(
    request: Request, referral_id: int, db: DbSession, user: CurrentUser, templates: Templates
) -> Response:
    """A referral and its triage form."""
    referral = referrals.get_referral(db, actor=user, referral_id=referral_id)
    context = {"referral": referral, "pathways": shipped_library().latest()}
    return templates.TemplateResponse(request, "coordination/referral.html", context)


@router.post("/coordination/referrals/{referral_id}/triage")
def triage(
    referral_id: int,
    db: DbSession,
    user: CurrentUser,
    outcome: Annotated[str, Form(pattern="^(accept|redirect|decline)$")],
    reason: Annotated[str, Form(min_length=3, max_length=400)],
    pathway_id: Annotated[str, Form(max_length=40)] = "",
    redirected_to: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    """Accept onto a pathway, redirect or decline; accepted people go to their patient page."""
    decision = TriageDecision(
        outcome=outcome,
        reason=reason,
        pathway_id=pathway_id or None,
        redirected_to=redirected_to or None,
        coordinator_user_id=user.user_id,
    )
    result = referrals.triage_referral(db, actor=user, referral_id=referral_id, decision=decision)
    if result.status == "accepted":
        return RedirectResponse(f"/coordination/patients/{result.person_id}", status_code=303)
    return RedirectResponse("/coordination/referrals", status_code=303)


@router.get("/coordination/patients/{person_id}", response_class=HTMLResponse)
def patient_page(request: Request, person_id: str, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """The centre's view of a person: pathway and step, decisions, tasks to book, bookings, care plan."""
    overview = patient_view.patient_overview(db, actor=user, person_id=person_id)
    return templates.TemplateResponse(
        request, "coordination/patient.html", {"patient": overview, "today": date.today().isoformat()}
    )


@router.post("/coordination/pathways/{pathway_instance_id}/finish-step")
def finish_step(
    pathway_instance_id: int,
    db: DbSession,
    user: CurrentUser,
    step_id: Annotated[str, Form(max_length=40)],
    decision: Annotated[str, Form(max_length=40)] = "",
    outcome: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Record the current step as done (with the decision at a decision point)."""
    instance = pathway_instances.finish_step(
        db, actor=user, pathway_instance_id=pathway_instance_id, step_id=step_id,
        decision=decision or None, outcome=outcome or None,
    )
    return RedirectResponse(f"/coordination/patients/{instance.person_id}", status_code=303)


@router.get("/coordination/pathways", response_class=HTMLResponse)
def pathway_library(request: Request, user: CurrentUser, templates: Templates) -> Response:
    """The pathway library: steps, who does them, timing, decisions, bookable services, sources."""
    return templates.TemplateResponse(
        request, "coordination/pathways.html", {"pathways": shipped_library().latest()}
    )


def _referral_context(form: dict[str, str], matches: object, error: str | None) -> dict[str, Any]:
    return {
        "form": form,
        "matches": matches,
        "error": error,
        "pathways": shipped_library().latest(),
        "urgencies": URGENCIES,
    }


def _local(path: str) -> str:
    """Only redirect within the site."""
    return path if path.startswith("/") and not path.startswith("//") else "/coordination"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


FHIR_JSON = "application/fhir+json"


def _fhir_read(resource_type: str) -> Any:
    def read(resource_id: int, db: DbSession, user: CurrentUser) -> Response:
        resource = fhir_resources.read_fhir(db, actor=user, resource_type=resource_type, resource_id=str(resource_id))
        return JSONResponse(resource, media_type=FHIR_JSON)

    read.__doc__ = f"FHIR R4 read of a {resource_type} of the coordination centre."
    read.__name__ = f"read_{resource_type.lower()}"
    return read


# The centre's FHIR R4 resources, each at its own path (the record's FHIR API serves the rest).
for _type in fhir_resources.FHIR_TYPES:
    router.add_api_route(f"/fhir/{_type}/{{resource_id}}", _fhir_read(_type), methods=["GET"])


@router.post("/fhir/ServiceRequest", include_in_schema=True)
async def create_service_request(request: Request, db: DbSession, user: CurrentUser) -> Response:
    """Receive an electronic referral (FHIR R4 ServiceRequest); answers 201 with the stored referral."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise InvalidInput("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise InvalidInput("the body must be one FHIR ServiceRequest resource")
    referral = referrals.receive_service_request(db, actor=user, resource=body)
    stored = fhir_resources.read_fhir(
        db, actor=user, resource_type="ServiceRequest", resource_id=str(referral.referral_id)
    )
    return JSONResponse(
        stored, status_code=201, media_type=FHIR_JSON,
        headers={"Location": f"/fhir/ServiceRequest/{referral.referral_id}"},
    )
