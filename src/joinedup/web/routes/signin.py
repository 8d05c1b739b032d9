"""Signing in and out (session cookie), bearer tokens for API clients, and the home page."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup import governance
from joinedup.errors import AccessDenied, InvalidInput, NotFound
from joinedup.model import Actor
from joinedup.web.auth import TOKEN_LIFETIME_SECONDS, parse_scopes, sign_in_session
from joinedup.web.deps import CurrentUser, DbSession, OptionalUser, Templates

logger = logging.getLogger(__name__)

router = APIRouter(tags=["sign-in"])

SIGN_IN_FAILED = "Enter a correct username and password"


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
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    security_code: Annotated[str, Form(max_length=12)] = "",
    next: Annotated[str, Form(max_length=400)] = "/",
) -> Response:
    """Check the credentials with governance (Argon2, lock-out, TOTP if enrolled); start a session."""
    try:
        actor = governance.authenticate(
            db, username.strip(), password, security_code.strip() or None, client_address=_client(request)
        )
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
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    grant_type: Annotated[str, Form(max_length=20)] = "password",
    scope: Annotated[str, Form(max_length=1000)] = "user/*.read",
) -> Response:
    """A bearer token for API clients (OAuth2 password grant, SMART-style scopes).

    Scopes: ``user/<ResourceType>.read``, ``user/*.read``... Unknown scopes are dropped; the token
    never allows more than governance allows the user.
    """
    if grant_type != "password":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    try:
        actor = governance.authenticate(db, username.strip(), password, client_address=_client(request))
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
