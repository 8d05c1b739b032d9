"""Pages of the voluntary-sector discharge service (built for a phone screen): the worklist,
a person's case (contact, passport, settle-in checklist, follow-up calls, Home from Hospital),
the passport to edit and to print on one page, and the experience survey.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joinedup.coordination import (
    discharge_case,
    discharge_support,
    experience,
    follow_up,
    home_from_hospital,
    passports,
    referrals,
)
from joinedup.coordination.errors import CoordinationInputError
from joinedup.web.deps import CurrentUser, DbSession, Templates

router = APIRouter(prefix="/discharge", tags=["discharge support"], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def worklist_page(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """The worklist: people suggested from A&E and the wards to confirm, people being helped, calls due."""
    entries = discharge_support.worklist_entries(db, actor=user)
    calls = follow_up.calls_due(db, actor=user)
    return templates.TemplateResponse(request, "discharge/worklist.html", {"entries": entries, "calls": calls})


@router.post("/cases/{discharge_support_id}/confirm")
def confirm(discharge_support_id: int, db: DbSession, user: CurrentUser) -> Response:
    """The team takes the person on."""
    discharge_support.confirm_case(db, actor=user, discharge_support_id=discharge_support_id)
    return RedirectResponse(f"/discharge/cases/{discharge_support_id}", status_code=303)


@router.post("/cases/{discharge_support_id}/not-suitable")
def not_suitable(
    discharge_support_id: int,
    db: DbSession,
    user: CurrentUser,
    reason: Annotated[str, Form(min_length=3, max_length=200)],
) -> Response:
    """The team decides the person is not suitable (with the reason)."""
    discharge_support.turn_down_case(db, actor=user, discharge_support_id=discharge_support_id, reason=reason)
    return RedirectResponse("/discharge", status_code=303)


@router.get("/cases/{discharge_support_id}", response_class=HTMLResponse)
def case_page(
    request: Request, discharge_support_id: int, db: DbSession, user: CurrentUser, templates: Templates
) -> Response:
    """One person's case: what the service may see, and what to do next."""
    overview = discharge_case.case_overview(db, actor=user, discharge_support_id=discharge_support_id)
    return templates.TemplateResponse(
        request, "discharge/case.html", {"case": overview, "today": date.today().isoformat()}
    )


@router.post("/cases/{discharge_support_id}/home")
def home(
    discharge_support_id: int,
    db: DbSession,
    user: CurrentUser,
    decision_at: Annotated[datetime, Form()],
    home_at: Annotated[datetime, Form()],
) -> Response:
    """The person is home: when the decision was made and when they got home (calls are scheduled)."""
    discharge_support.record_home(
        db, actor=user, discharge_support_id=discharge_support_id,
        decision_at=_utc(decision_at), home_at=_utc(home_at),
    )
    return RedirectResponse(f"/discharge/cases/{discharge_support_id}", status_code=303)


@router.post("/cases/{discharge_support_id}/settle-in")
async def settle_in(request: Request, discharge_support_id: int, db: DbSession, user: CurrentUser) -> Response:
    """The take-home and settle-in checklist: ticked items are met; unticked ones raise tasks."""
    form = await request.form()
    answers = [
        follow_up.ChecklistAnswer(
            item=item, met=form.get(f"met_{item}") == "yes", note=str(form.get(f"note_{item}") or "")[:400] or None
        )
        for item in follow_up.SETTLE_IN_ITEMS
    ]
    follow_up.record_settle_in(db, actor=user, discharge_support_id=discharge_support_id, answers=answers)
    return RedirectResponse(f"/discharge/cases/{discharge_support_id}", status_code=303)


@router.post("/calls/{follow_up_call_id}")
def record_call(
    follow_up_call_id: int,
    db: DbSession,
    user: CurrentUser,
    outcome: Annotated[str, Form(pattern="^(fine|needs_help|unreachable)$")],
    back: Annotated[str, Form(max_length=200)],
    notes: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record a follow-up call: fine, needs help (a task), or could not reach (retry, then escalate)."""
    follow_up.record_call(
        db, actor=user, follow_up_call_id=follow_up_call_id, outcome=outcome,  # type: ignore[arg-type]
        notes=notes or None,
    )
    return RedirectResponse(back if back.startswith("/discharge") else "/discharge", status_code=303)


@router.post("/cases/{discharge_support_id}/home-from-hospital")
def refer_home_from_hospital(
    discharge_support_id: int,
    db: DbSession,
    user: CurrentUser,
    start_date: Annotated[date, Form()],
    end_date: Annotated[date, Form()],
    goals: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Refer to up to six weeks of Home from Hospital support, with the person's goals (one a line)."""
    home_from_hospital.refer_to_home_from_hospital(
        db, actor=user, discharge_support_id=discharge_support_id, start_date=start_date, end_date=end_date,
        goals=[line.strip() for line in goals.splitlines() if line.strip()], planned_contacts=[],
    )
    return RedirectResponse(f"/discharge/cases/{discharge_support_id}", status_code=303)


@router.post("/home-from-hospital/{home_from_hospital_id}/close")
def close_home_from_hospital(
    home_from_hospital_id: int,
    db: DbSession,
    user: CurrentUser,
    outcome: Annotated[str, Form(min_length=3, max_length=400)],
    back: Annotated[str, Form(max_length=200)],
) -> Response:
    """Close Home from Hospital support with its outcome."""
    home_from_hospital.close_home_from_hospital(db, actor=user, home_from_hospital_id=home_from_hospital_id,
                                                outcome=outcome)
    return RedirectResponse(back if back.startswith("/discharge") else "/discharge", status_code=303)


@router.post("/cases/{discharge_support_id}/close")
def close_case(
    discharge_support_id: int,
    db: DbSession,
    user: CurrentUser,
    outcome: Annotated[str, Form(min_length=3, max_length=200)],
) -> Response:
    """Close the case (the service's access to the person ends)."""
    discharge_support.close_case(db, actor=user, discharge_support_id=discharge_support_id, outcome=outcome)
    return RedirectResponse("/discharge", status_code=303)


@router.post("/cases/{discharge_support_id}/survey")
def survey(
    discharge_support_id: int,
    db: DbSession,
    user: CurrentUser,
    person_id: Annotated[str, Form(max_length=32)],
    channel: Annotated[str, Form(pattern="^(sms|phone|web)$")],
    fft_answer: Annotated[str, Form(max_length=1)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
    declined: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Record the Friends and Family Test answer and comment, or that the person declined."""
    said_no = declined == "yes"
    experience.record_survey(db, actor=user, answer=experience.SurveyAnswer(
        person_id=person_id, service="discharge_support", milestone="discharge_home",
        channel=channel,
        declined=said_no, fft_answer=None if said_no or not fft_answer else int(fft_answer),
        comment=None if said_no else comment or None,
    ))
    return RedirectResponse(f"/discharge/cases/{discharge_support_id}", status_code=303)


@router.get("/patients/{person_id}/passport", response_class=HTMLResponse)
def passport_page(request: Request, person_id: str, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """The person's passport, to read and (with their agreement) to edit."""
    passport = passports.read_passport(db, actor=user, person_id=person_id)
    context = {"person_id": person_id, "passport": passport, "labels": passports.PASSPORT_LABELS, "error": None}
    return templates.TemplateResponse(request, "discharge/passport.html", context)


@router.post("/patients/{person_id}/passport", response_class=HTMLResponse)
async def save_passport(
    request: Request, person_id: str, db: DbSession, user: CurrentUser, templates: Templates
) -> Response:
    """Save the passport (the person must have agreed)."""
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in passports.PASSPORT_FIELDS}
    update = passports.PassportUpdate(consent_given=form.get("consent") == "yes" or None, **values)
    try:
        passports.write_passport(db, actor=user, person_id=person_id, update=update)
    except CoordinationInputError as exc:
        context = {"person_id": person_id, "passport": None, "labels": passports.PASSPORT_LABELS,
                   "error": str(exc), "values": values}
        return templates.TemplateResponse(request, "discharge/passport.html", context, status_code=422)
    return RedirectResponse(f"/discharge/patients/{person_id}/passport", status_code=303)


@router.get("/patients/{person_id}/passport/print", response_class=HTMLResponse)
def print_passport(
    request: Request, person_id: str, db: DbSession, user: CurrentUser, templates: Templates
) -> Response:
    """The passport on one printable page."""
    passport = passports.read_passport(db, actor=user, person_id=person_id)
    context = {"passport": passport, "labels": passports.PASSPORT_LABELS}
    return templates.TemplateResponse(request, "discharge/passport_print.html", context)


@router.get("/refer", response_class=HTMLResponse)
def refer_page(request: Request, user: CurrentUser, templates: Templates) -> Response:
    """Ward and A&E staff refer a person to the service: find them first."""
    return templates.TemplateResponse(request, "discharge/refer.html", {"matches": None, "nhs_number": ""})


@router.post("/refer/find", response_class=HTMLResponse)
def refer_find(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    templates: Templates,
    nhs_number: Annotated[str, Form(min_length=10, max_length=20)],
) -> Response:
    """Find the person by NHS number for a direct referral."""
    matches = referrals.find_patients(db, actor=user, nhs_number=nhs_number)
    return templates.TemplateResponse(
        request, "discharge/refer.html", {"matches": matches, "nhs_number": nhs_number}
    )


@router.post("/referrals")
def refer(
    db: DbSession,
    user: CurrentUser,
    person_id: Annotated[str, Form(max_length=32)],
    setting: Annotated[str, Form(pattern="^(ae|admitted)$")],
    reason: Annotated[str, Form(min_length=3, max_length=200)],
) -> Response:
    """A ward or A&E refers a person straight to the service (from the patient's record)."""
    case = discharge_support.refer_directly(db, actor=user, person_id=person_id, setting=setting, reason=reason)
    return RedirectResponse(f"/discharge/cases/{case.discharge_support_id}", status_code=303)


@router.get("/experience", response_class=HTMLResponse)
def experience_page(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """Friends and Family Test results by service and month, with the comments (no names)."""
    results = experience.experience_results(db, actor=user)
    return templates.TemplateResponse(request, "discharge/experience.html", {"results": results})


def _utc(value: datetime) -> datetime:
    """A date-time from a form (no zone given: taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
