"""Signing in and out (session cookie), bearer tokens for API clients, and the home page.

Staff sign in with a password and a TOTP code. Staff who never enrolled an authenticator are
taken, after a correct password, to ``/sign-in/authenticator``: it shows a new secret (text and
otpauth URI) and starts no session until a code from it is confirmed. Until then the pending
secret waits in the signed session cookie (for ``ENROLMENT_SECONDS``); it is the user's own
secret, shown to them on that page anyway, and the cookie is ``HttpOnly`` and ``Secure``.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from joinedup import governance
from joinedup.errors import AccessDenied, InvalidInput, NotFound
from joinedup.governance.totp import new_totp_secret, provisioning_uri
from joinedup.model import Actor
from joinedup.web.auth import TOKEN_LIFETIME_SECONDS, parse_scopes, sign_in_session
from joinedup.web.deps import AppSettings, CurrentUser, DbSession, OptionalUser, SignInThrottle, Templates
from joinedup.web.smart import exchange_code

logger = logging.getLogger(__name__)

router = APIRouter(tags=["sign-in"])

SIGN_IN_FAILED = "Enter a correct username and password"
ENROLMENT_KEY = "totp_enrolment"
# How long a pending authenticator enrolment lasts before the user must enter the password again.
ENROLMENT_SECONDS = 10 * 60


def safe_next_path(raw: str | None, actor: Actor | None = None) -> str:
    """Where to go after sign-in: a path on this site only (no open redirects)."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    if actor is not None and actor.role == "patient":
        return "/portal"
    return "/"


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, user: OptionalUser, templates: Templates) -> Response:
    """The home page: what this user can do, or a sign-in link."""
    if user is not None and user.role == "patient":
        return RedirectResponse("/portal", status_code=303)
    return templates.TemplateResponse(request, "home.html", {})


@router.get("/sign-in", response_class=HTMLResponse, include_in_schema=False)
def sign_in_page(request: Request, templates: Templates, next: str | None = None) -> Response:
    """The sign-in form."""
    return templates.TemplateResponse(
        request, "auth/sign_in.html", {"next_path": safe_next_path(next), "username": "", "error_summary": None}
    )


@router.post("/sign-in", response_class=HTMLResponse, include_in_schema=False)
def sign_in(
    request: Request,
    db: DbSession,
    templates: Templates,
    settings: AppSettings,
    _throttle: SignInThrottle,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    security_code: Annotated[str, Form(max_length=12)] = "",
    next: Annotated[str, Form(max_length=400)] = "/",
) -> Response:
    """Check the credentials with governance (Argon2, lock-out, TOTP); start a session.

    Staff with no authenticator yet go on to enrol one (no session until they confirm a code).
    """
    try:
        actor = governance.authenticate(
            db, username.strip(), password, security_code.strip() or None, client_address=_client(request),
            require_staff_second_factor=settings.require_staff_totp,
        )
    except governance.SecondFactorEnrolmentRequired as needed:
        return _offer_enrolment(request, templates, needed, safe_next_path(next))
    except (AccessDenied, NotFound, InvalidInput) as exc:
        reason = exc.reason if isinstance(exc, AccessDenied) else SIGN_IN_FAILED
        return templates.TemplateResponse(
            request,
            "auth/sign_in.html",
            {"next_path": safe_next_path(next), "username": username, "error_summary": reason or SIGN_IN_FAILED},
            status_code=401,
        )
    sign_in_session(request, actor)
    logger.info("signed in user_id=%s role=%s", actor.user_id, actor.role)
    return RedirectResponse(safe_next_path(next, actor), status_code=303)


def _offer_enrolment(
    request: Request, templates: Jinja2Templates, needed: governance.SecondFactorEnrolmentRequired, next_path: str
) -> Response:
    """Keep a new secret for the user (pending) and show it; the session stays signed out."""
    request.session.clear()
    request.session[ENROLMENT_KEY] = {
        "user_id": needed.user_id,
        "username": needed.username,
        "secret": new_totp_secret(),
        "started_at": int(time.time()),
        "next": next_path,
    }
    return _enrolment_page(request, templates, request.session[ENROLMENT_KEY], error=None)


def _pending_enrolment(request: Request) -> dict[str, Any] | None:
    pending = request.session.get(ENROLMENT_KEY)
    if not isinstance(pending, dict) or time.time() - int(pending.get("started_at", 0)) > ENROLMENT_SECONDS:
        request.session.pop(ENROLMENT_KEY, None)
        return None
    return pending


def _enrolment_page(
    request: Request, templates: Jinja2Templates, pending: dict[str, Any], error: str | None, status_code: int = 200
) -> Response:
    secret = str(pending["secret"])
    return templates.TemplateResponse(
        request,
        "auth/enrol_authenticator.html",
        {
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
            "otpauth_uri": provisioning_uri(secret, str(pending["username"])),
            "error_summary": error,
        },
        status_code=status_code,
    )


@router.get("/sign-in/authenticator", response_class=HTMLResponse, include_in_schema=False)
def enrolment_page(request: Request, templates: Templates) -> Response:
    """The pending authenticator enrolment again (a reload); otherwise back to sign-in."""
    pending = _pending_enrolment(request)
    if pending is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _enrolment_page(request, templates, pending, error=None)


@router.post("/sign-in/authenticator", response_class=HTMLResponse, include_in_schema=False)
def confirm_enrolment(
    request: Request,
    db: DbSession,
    templates: Templates,
    _throttle: SignInThrottle,
    security_code: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Check the first code from the new authenticator; keep it and start the session when right."""
    pending = _pending_enrolment(request)
    if pending is None:
        return templates.TemplateResponse(
            request, "auth/sign_in.html",
            {"next_path": "/", "username": "", "error_summary": "Your sign-in has expired. Sign in again."},
            status_code=401,
        )
    try:
        actor = governance.confirm_totp_enrolment(
            db, user_id=str(pending["user_id"]), secret=str(pending["secret"]), code=security_code.strip(),
            client_address=_client(request),
        )
    except AccessDenied:
        return _enrolment_page(request, templates, pending, error="Enter the 6-digit code your authenticator app "
                               "shows now", status_code=401)
    next_path = safe_next_path(str(pending.get("next") or ""), actor)
    sign_in_session(request, actor)
    logger.info("authenticator enrolled and signed in user_id=%s role=%s", actor.user_id, actor.role)
    return RedirectResponse(next_path, status_code=303)


@router.get("/sign-out", response_class=HTMLResponse, include_in_schema=False)
def sign_out_page(request: Request, templates: Templates, user: CurrentUser) -> Response:
    """Ask to confirm signing out (a POST, so another site cannot sign the user out)."""
    return templates.TemplateResponse(request, "auth/sign_out.html", {})


@router.post("/sign-out", include_in_schema=False)
def sign_out(request: Request) -> Response:
    """End the session."""
    request.session.clear()
    return RedirectResponse("/sign-in", status_code=303)


@router.post("/auth/token", tags=["auth"])
def issue_token(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    _throttle: SignInThrottle,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    grant_type: Annotated[str, Form(max_length=20)] = "password",
    scope: Annotated[str, Form(max_length=1000)] = "user/*.read",
    totp: Annotated[str, Form(max_length=12, description="the current TOTP code (staff)")] = "",
    code: Annotated[str, Form(max_length=100, description="authorization_code grant (SMART)")] = "",
    redirect_uri: Annotated[str, Form(max_length=400)] = "",
    code_verifier: Annotated[str, Form(max_length=128)] = "",
    client_id: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    """A bearer token for API clients (OAuth2 password grant, SMART-style scopes), or for a SMART app
    exchanging its authorisation code (``grant_type=authorization_code``, see ``web/smart.py``).

    Scopes: ``user/<ResourceType>.read``, ``user/*.read``... Unknown scopes are dropped; the token
    never allows more than governance allows the user. Staff send their authenticator's current
    code as ``totp``; staff with no authenticator must enrol one by signing in on the web first.
    """
    if grant_type == "authorization_code":
        return exchange_code(request, db, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier,
                             client_id=client_id)
    if grant_type != "password":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    try:
        actor = governance.authenticate(
            db, username.strip(), password, totp.strip() or None, client_address=_client(request),
            require_staff_second_factor=settings.require_staff_totp,
        )
    except governance.SecondFactorEnrolmentRequired:
        return JSONResponse(
            {"error": "invalid_grant", "error_description": "set up an authenticator app: sign in on the web first"},
            status_code=400,
        )
    except (AccessDenied, NotFound, InvalidInput):
        return JSONResponse(
            {"error": "invalid_grant", "error_description": "wrong credentials or account locked"}, status_code=400
        )
    scopes = parse_scopes(scope)
    if not scopes:
        return JSONResponse({"error": "invalid_scope"}, status_code=400)
    return JSONResponse(
        {
            "access_token": request.app.state.tokens.issue(actor, scopes),
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "scope": " ".join(sorted(scopes)),
        },
        headers={"Cache-Control": "no-store"},
    )
