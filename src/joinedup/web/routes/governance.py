"""Governance pages and API: the IG desk (alerts, break-glass reviews, audit search and verification),
break-glass for clinicians, the data-sharing board (requests, reviews, decisions), user administration.

Searches by NHS number are POSTs so identifiers never sit in URLs. Every read and decision is made
and audited by ``joinedup.governance``; these handlers parse, call one service and render.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joinedup import governance
from joinedup.errors import InvalidInput
from joinedup.governance.access import review_break_glass
from joinedup.governance.overview import governance_overview
from joinedup.governance.record_access import accesses_to_person, export_audit_events, person_ids_for_nhs_number
from joinedup.governance.schemas import DataRequestCreate, DataRequestReviewCreate
from joinedup.governance.sharing import (
    EXTRACT_FIELDS,
    DataRequestPublic,
    get_data_request,
    list_agreements,
    list_data_requests,
    review_data_request,
    submit_data_request,
)
from joinedup.governance.users import (
    TEAM_KINDS,
    add_team_member,
    ensure_team,
    get_user,
    list_teams,
    list_users,
    remove_team_member,
    set_user_active,
    unlock_user,
)
from joinedup.model import ROLES
from joinedup.web.deps import AppSettings, CurrentUser, DbSession, Templates

router = APIRouter(tags=["governance"])


# --- the governance desk -------------------------------------------------------------------


@router.get("/governance", include_in_schema=False, response_class=HTMLResponse)
def desk(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """Open IG alerts, break-glass awaiting review, data requests and users, as the role allows."""
    overview = governance_overview(db, actor=user)
    return templates.TemplateResponse(request, "governance/desk.html", {"overview": overview})


@router.post("/governance/break-glass/{break_glass_id}/review", include_in_schema=False)
def review_glass(
    break_glass_id: int,
    db: DbSession,
    user: CurrentUser,
    outcome: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The IG officer's verdict on a break-glass (appropriate or not), closing its alert."""
    review_break_glass(db, actor=user, break_glass_id=break_glass_id, outcome=outcome, note=note)
    return RedirectResponse("/governance", status_code=303)


@router.get("/governance/audit", include_in_schema=False, response_class=HTMLResponse)
def audit_page(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """Search the audit trail by NHS number ("who has looked at this record"), verify the chain."""
    governance.authorise(db, actor=user, person_id=None, resource_type="audit", action="search", detail="open")
    return templates.TemplateResponse(request, "governance/audit.html", {"accesses": None, "verification": None})


@router.post("/governance/audit/search", include_in_schema=False, response_class=HTMLResponse)
def audit_search(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    templates: Templates,
    nhs_number: Annotated[str, Form(max_length=20)],
) -> Response:
    """Every access to the record of the person with this NHS number, oldest first."""
    accesses = [
        access
        for person_id in person_ids_for_nhs_number(db, nhs_number)
        for access in accesses_to_person(db, actor=user, person_id=person_id)
    ]
    return templates.TemplateResponse(request, "governance/audit.html", {"accesses": accesses, "verification": None})


@router.post("/governance/audit/verify", include_in_schema=False, response_class=HTMLResponse)
def audit_verify(
    request: Request, db: DbSession, user: CurrentUser, templates: Templates, settings: AppSettings
) -> Response:
    """Check every link, hash and sealed checkpoint of the audit trail."""
    governance.authorise(db, actor=user, person_id=None, resource_type="audit", action="review", detail="verify")
    verification = governance.verify_audit_chain(db, settings=settings)
    return templates.TemplateResponse(
        request, "governance/audit.html", {"accesses": None, "verification": verification}
    )


# --- break-glass ---------------------------------------------------------------------------


@router.get("/governance/break-glass", include_in_schema=False, response_class=HTMLResponse)
def break_glass_form(
    request: Request,
    user: CurrentUser,
    templates: Templates,
    person_id: Annotated[str, Query(max_length=32)],
) -> Response:
    """The emergency access form: a reason is required; access is time-limited and reviewed."""
    return templates.TemplateResponse(
        request, "governance/break_glass.html", {"person_id": person_id, "error": None, "reason": ""}
    )


@router.post("/governance/break-glass", include_in_schema=False)
def break_glass(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    templates: Templates,
    person_id: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Open the record in an emergency; the IG officer is told and will review it."""
    try:
        governance.break_glass(db, actor=user, person_id=person_id, reason=reason)
    except InvalidInput as exc:
        context = {"person_id": person_id, "error": str(exc), "reason": reason}
        return templates.TemplateResponse(request, "governance/break_glass.html", context, status_code=422)
    return RedirectResponse(f"/patients/{person_id}", status_code=303)


# --- data requests -------------------------------------------------------------------------


@router.get("/governance/requests", include_in_schema=False, response_class=HTMLResponse)
def requests_page(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """Every data request and its state."""
    found = list_data_requests(db, actor=user)
    return templates.TemplateResponse(request, "governance/requests.html", {"requests": found})


@router.get("/governance/requests/new", include_in_schema=False, response_class=HTMLResponse)
def new_request_page(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """The form to ask the board for de-identified data under an agreement."""
    agreements = list_agreements(db, actor=user, kind="sharing")
    context = {"agreements": agreements, "fields": EXTRACT_FIELDS, "error": None}
    return templates.TemplateResponse(request, "governance/request_form.html", context)


@router.post("/governance/requests", include_in_schema=False)
def submit_request_form(
    db: DbSession,
    user: CurrentUser,
    title: Annotated[str, Form(max_length=200)],
    purpose: Annotated[str, Form(max_length=40)],
    legal_basis: Annotated[str, Form(max_length=200)],
    agreement_id: Annotated[str, Form(max_length=40)],
    period_start: Annotated[date, Form()],
    period_end: Annotated[date, Form()],
    fields: Annotated[list[str], Form()],
    min_age: Annotated[int | None, Form(ge=0, le=130)] = None,
    max_age: Annotated[int | None, Form(ge=0, le=130)] = None,
    condition_codes: Annotated[str, Form(max_length=2000)] = "",
    practice_codes: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Submit the request form; the board is asked to review it."""
    cohort: dict[str, Any] = {"min_age": min_age, "max_age": max_age}
    cohort["condition_codes"] = [c.strip() for c in condition_codes.split(",") if c.strip()]
    cohort["practice_codes"] = [c.strip() for c in practice_codes.split(",") if c.strip()]
    created = submit_data_request(
        db,
        actor=user,
        title=title,
        purpose=purpose,
        legal_basis=legal_basis,
        agreement_id=agreement_id,
        cohort={key: value for key, value in cohort.items() if value not in (None, [])},
        fields=fields,
        period_start=period_start,
        period_end=period_end,
    )
    return RedirectResponse(f"/governance/requests/{created.data_request_id}", status_code=303)


@router.get("/governance/requests/{data_request_id}", include_in_schema=False, response_class=HTMLResponse)
def request_page(
    data_request_id: int, request: Request, db: DbSession, user: CurrentUser, templates: Templates
) -> Response:
    """One request: what is asked, under which agreement, every comment and decision."""
    found = get_data_request(db, actor=user, data_request_id=data_request_id)
    context = {"data_request": found, "can_decide": governance.may(user, "data_request", "decide")}
    return templates.TemplateResponse(request, "governance/request.html", context)


@router.post("/governance/requests/{data_request_id}/reviews", include_in_schema=False)
def review_request_form(
    data_request_id: int,
    db: DbSession,
    user: CurrentUser,
    kind: Annotated[str, Form(max_length=10)],
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """A board member's comment, approval or rejection."""
    review_data_request(db, actor=user, data_request_id=data_request_id, kind=kind, text=text)
    return RedirectResponse(f"/governance/requests/{data_request_id}", status_code=303)


# --- users ---------------------------------------------------------------------------------


@router.get("/governance/users", include_in_schema=False, response_class=HTMLResponse)
def users_page(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """Users with role, organisation, teams and state; the form to add one."""
    users = list_users(db, actor=user)
    teams = list_teams(db, actor=user)
    roles = [role for role in ROLES if role != "system"]
    context = {"users": users, "roles": roles, "teams": teams, "team_kinds": TEAM_KINDS}
    return templates.TemplateResponse(request, "governance/users.html", context)


@router.post("/governance/users", include_in_schema=False)
def create_user_form(
    db: DbSession,
    user: CurrentUser,
    username: Annotated[str, Form(max_length=80)],
    role: Annotated[str, Form(max_length=40)],
    password: Annotated[str, Form(max_length=200)],
    org_code: Annotated[str, Form(max_length=12)] = "",
    team_ids: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Add a user."""
    governance.create_user(
        db,
        username=username,
        password=password,
        role=role,
        org_code=org_code or None,
        team_ids=[t.strip() for t in team_ids.split(",") if t.strip()],
        actor=user,
    )
    return RedirectResponse("/governance/users", status_code=303)


@router.post("/governance/teams", include_in_schema=False)
def create_team_form(
    db: DbSession,
    user: CurrentUser,
    team_id: Annotated[str, Form(min_length=2, max_length=40)],
    name: Annotated[str, Form(min_length=2, max_length=120)],
    kind: Annotated[str, Form(max_length=30)] = "care_team",
    org_code: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Add a team (care team, coordination centre, discharge service, ward...)."""
    ensure_team(db, team_id=team_id, name=name, kind=kind, org_code=org_code or None, actor=user)
    return RedirectResponse("/governance/users", status_code=303)


@router.post("/governance/users/{username}/teams", include_in_schema=False)
def change_membership(
    username: str,
    db: DbSession,
    user: CurrentUser,
    team_id: Annotated[str, Form(max_length=40)],
    change: Annotated[str, Form(pattern="^(add|remove)$")] = "add",
) -> Response:
    """Put a user in a team, or take them out."""
    member = get_user(db, username)
    if change == "add":
        add_team_member(db, team_id=team_id, user_id=member.user_id, actor=user)
    else:
        remove_team_member(db, team_id=team_id, user_id=member.user_id, actor=user)
    return RedirectResponse("/governance/users", status_code=303)


@router.post("/governance/users/{username}/unlock", include_in_schema=False)
def unlock(username: str, db: DbSession, user: CurrentUser) -> Response:
    """Clear a lock-out."""
    unlock_user(db, username=username, actor=user)
    return RedirectResponse("/governance/users", status_code=303)


@router.post("/governance/users/{username}/deactivate", include_in_schema=False)
def deactivate(username: str, db: DbSession, user: CurrentUser) -> Response:
    """Deactivate a leaver (kept, so the audit trail still names them)."""
    set_user_active(db, username=username, active=False, actor=user)
    return RedirectResponse("/governance/users", status_code=303)


# --- JSON API: the data-request workflow ----------------------------------------------------


def _request_json(found: DataRequestPublic) -> dict[str, Any]:
    body = asdict(found)
    body["period_start"] = found.period_start.isoformat()
    body["period_end"] = found.period_end.isoformat()
    return body


@router.post("/api/governance/requests", status_code=201)
def api_submit_request(body: DataRequestCreate, db: DbSession, user: CurrentUser) -> dict[str, Any]:
    """Submit a data request (purpose, legal basis, agreement, cohort, fields, period)."""
    created = submit_data_request(
        db,
        actor=user,
        title=body.title,
        purpose=body.purpose,
        legal_basis=body.legal_basis,
        agreement_id=body.agreement_id,
        cohort=body.cohort.model_dump(exclude_none=True, exclude_defaults=True),
        fields=body.fields,
        period_start=body.period_start,
        period_end=body.period_end,
    )
    return _request_json(created)


@router.get("/api/governance/requests")
def api_list_requests(
    db: DbSession, user: CurrentUser, status: Annotated[str | None, Query(max_length=12)] = None
) -> list[dict[str, Any]]:
    """Data requests, newest first."""
    return [_request_json(found) for found in list_data_requests(db, actor=user, status=status)]


@router.get("/api/governance/requests/{data_request_id}")
def api_get_request(data_request_id: int, db: DbSession, user: CurrentUser) -> dict[str, Any]:
    """One data request with every comment and decision."""
    return _request_json(get_data_request(db, actor=user, data_request_id=data_request_id))


@router.post("/api/governance/requests/{data_request_id}/reviews")
def api_review_request(
    data_request_id: int, body: DataRequestReviewCreate, db: DbSession, user: CurrentUser
) -> dict[str, Any]:
    """A board member comments, approves or rejects; approved once enough approve and none rejects."""
    reviewed = review_data_request(db, actor=user, data_request_id=data_request_id, kind=body.kind, text=body.text)
    return _request_json(reviewed)


@router.get("/api/governance/audit-events")
def api_audit_events(
    db: DbSession,
    user: CurrentUser,
    since_sequence: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:
    """The audit trail as a FHIR R4 Bundle of AuditEvents, in chain order (IG officer)."""
    events = export_audit_events(db, actor=user, since_sequence=since_sequence, limit=limit)
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": event} for event in events]}
