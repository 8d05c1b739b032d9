"""SMART on FHIR standalone launch: discovery, and the user's approval of an app (authorisation code + PKCE).

``GET /auth/authorize`` checks the app's request (registered client, exact redirect URI, PKCE S256,
``aud`` = this FHIR server, ``state``), keeps it in the session and sends the user to sign in if
needed, then to ``/auth/authorize/approve``, where they approve or refuse the scopes (narrowed to
what governance allows them). The code is exchanged at ``POST /auth/token`` (``web/smart.py``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.errors import InvalidInput
from joinedup.governance.smart_authorisation import issue_authorisation_code
from joinedup.web.app import content_security_policy
from joinedup.web.auth import SMART_REQUEST_KEY
from joinedup.web.deps import AppSettings, CurrentUser, DbSession, OptionalUser, Templates
from joinedup.web.smart import LAUNCH_PATIENT, fhir_base_url, grantable_scopes, smart_configuration

router = APIRouter(tags=["SMART on FHIR"])

APPROVE_PATH = "/auth/authorize/approve"
SCOPE_WORDS = {"*": "all of your record the system lets you see", "Patient": "demographics",
               "Encounter": "visits and stays", "Condition": "problems and diagnoses", "Observation": "results",
               "MedicationRequest": "medicines", "AllergyIntolerance": "allergies", "Procedure": "procedures"}


def _with_query(uri: str, **params: str) -> str:
    """``uri`` with ``params`` added to its query (the app's redirect URI may carry a query already)."""
    parts = urlsplit(uri)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _back_to_app(pending: dict[str, str], **params: str) -> RedirectResponse:
    return RedirectResponse(_with_query(pending["redirect_uri"], **params, state=pending["state"]), status_code=303)


@router.get("/.well-known/smart-configuration", include_in_schema=False)
def well_known_smart_configuration(request: Request) -> JSONResponse:
    """How apps authorise here (public, as SMART App Launch asks)."""
    return JSONResponse(smart_configuration(str(request.base_url).rstrip("/")))


@router.get("/auth/authorize", response_class=HTMLResponse, include_in_schema=False)
def authorize(
    request: Request,
    settings: AppSettings,
    user: OptionalUser,
    client_id: Annotated[str, Query(max_length=80)] = "",
    redirect_uri: Annotated[str, Query(max_length=400)] = "",
    response_type: Annotated[str, Query(max_length=20)] = "",
    scope: Annotated[str, Query(max_length=1000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    aud: Annotated[str, Query(max_length=400)] = "",
    code_challenge: Annotated[str, Query(max_length=128)] = "",
    code_challenge_method: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """Check an app's authorisation request; then sign-in (if needed) and approval."""
    client = settings.smart_client(client_id)
    if client is None or redirect_uri not in client.redirect_uris:
        # Never redirect to an address we cannot vouch for (RFC 6749 §4.1.2.1): say so here.
        raise InvalidInput("the app is not registered here, or its redirect_uri is not one registered for it")
    pending = {"client_id": client_id, "redirect_uri": redirect_uri, "scope": scope, "state": state,
               "code_challenge": code_challenge}
    if not state:
        return _back_to_app(pending, error="invalid_request", error_description="state is required")
    if response_type != "code":
        return _back_to_app(pending, error="unsupported_response_type")
    if code_challenge_method != "S256" or len(code_challenge) < 43:
        return _back_to_app(pending, error="invalid_request", error_description="PKCE with S256 is required")
    if aud.rstrip("/") != fhir_base_url(request):
        return _back_to_app(pending, error="invalid_request", error_description="aud must be this FHIR server")
    request.session[SMART_REQUEST_KEY] = pending
    if user is None:
        return RedirectResponse(f"/sign-in?next={APPROVE_PATH}", status_code=303)
    return RedirectResponse(APPROVE_PATH, status_code=303)


def _pending(request: Request) -> dict[str, str]:
    pending = request.session.get(SMART_REQUEST_KEY)
    if not isinstance(pending, dict):
        raise InvalidInput("no app is waiting for your approval; start again from the app")
    return {key: str(value) for key, value in pending.items()}


def _scope_lines(scopes: frozenset[str]) -> list[str]:
    lines = []
    for scope in sorted(scopes):
        if scope == LAUNCH_PATIENT:
            lines.append("know that the record is yours")
            continue
        resource = scope.partition("/")[2].partition(".")[0]
        lines.append(f"read {SCOPE_WORDS.get(resource, resource)}")
    return lines


@router.get(APPROVE_PATH, response_class=HTMLResponse, include_in_schema=False)
def approval_page(request: Request, user: CurrentUser, settings: AppSettings, templates: Templates) -> Response:
    """Ask the signed-in user to approve the app's scopes (as narrowed for them)."""
    pending = _pending(request)
    client = settings.smart_client(pending["client_id"])
    scopes = grantable_scopes(user, pending["scope"])
    if client is None or not scopes:
        request.session.pop(SMART_REQUEST_KEY, None)
        if client is None:
            raise InvalidInput("the app is no longer registered here")
        return _back_to_app(pending, error="invalid_scope",
                            error_description="none of the requested scopes can be granted to this user")
    context: dict[str, Any] = {"app_name": client.name, "scope_lines": _scope_lines(scopes)}
    response = templates.TemplateResponse(request, "auth/authorize.html", context)
    # The approval form's answer redirects to the app: the CSP must let the form lead there.
    target = urlsplit(pending["redirect_uri"])
    response.headers["Content-Security-Policy"] = content_security_policy(
        getattr(request.state, "csp_nonce", ""), form_targets=(f"{target.scheme}://{target.netloc}",)
    )
    return response


@router.post(APPROVE_PATH, include_in_schema=False)
def approve(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    decision: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The user's answer: a one-time code for the app, or ``access_denied``."""
    pending = _pending(request)
    request.session.pop(SMART_REQUEST_KEY, None)
    if decision != "approve":
        return _back_to_app(pending, error="access_denied")
    scopes = grantable_scopes(user, pending["scope"])
    if not scopes:
        return _back_to_app(pending, error="invalid_scope")
    code = issue_authorisation_code(
        db, actor=user, client_id=pending["client_id"], redirect_uri=pending["redirect_uri"], scopes=scopes,
        code_challenge=pending["code_challenge"],
        patient_person_id=user.person_id if LAUNCH_PATIENT in scopes else None,
    )
    return _back_to_app(pending, code=code)
