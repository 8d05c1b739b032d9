"""Single sign-on for staff through an OpenID Connect provider (NHS Care Identity Service 2 style).

Off unless ``oidc_issuer`` and ``oidc_client_id`` are set; then the sign-in page offers the
provider's button. ``GET /sign-in/oidc`` sends the person to the provider (authorisation code with
PKCE; state, nonce and verifier wait in the signed session cookie); the provider sends them back to
``GET /sign-in/oidc/callback``, where the ID token is checked (``web/single_sign_on.py``) and
governance decides (``governance.federation``): an existing, active member of staff only, audited.

The provider's own multi-factor authentication (smartcard, authenticator) is the second factor: a
person signed in this way is not asked for joinedup's TOTP code, which applies to password sign-in.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joinedup.errors import AccessDenied, NotFound
from joinedup.governance.federation import authenticate_federated
from joinedup.web.auth import sign_in_session
from joinedup.web.deps import AppSettings, DbSession, Templates
from joinedup.web.single_sign_on import OpenIdProvider, SignInRequest, SingleSignOnFailed

logger = logging.getLogger(__name__)

router = APIRouter(tags=["sign-in"], include_in_schema=False)

SIGN_IN_REQUEST_KEY = "oidc_sign_in"
NOT_CONFIRMED = "{provider} did not confirm who you are; try again, or sign in with your username and password"


def _provider(request: Request, settings: AppSettings) -> OpenIdProvider:
    """The app's provider, made once (it keeps the discovery document and keys)."""
    if not settings.oidc_enabled:
        raise NotFound("single sign-on is not set up on this server")
    provider: OpenIdProvider | None = getattr(request.app.state, "oidc_provider", None)
    if provider is None:
        provider = OpenIdProvider(settings)
        request.app.state.oidc_provider = provider
    return provider


def _redirect_uri(request: Request, settings: AppSettings) -> str:
    return settings.oidc_redirect_uri or str(request.url_for("oidc_callback"))


def _safe_next(raw: str | None) -> str:
    """A path on this site only (no open redirects); staff land on the home page otherwise."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/"


def _refused(request: Request, templates: Templates, reason: str, next_path: str) -> Response:
    return templates.TemplateResponse(
        request, "auth/sign_in.html", {"next_path": next_path, "username": "", "error_summary": reason},
        status_code=401,
    )


@router.get("/sign-in/oidc")
def start_single_sign_on(
    request: Request,
    settings: AppSettings,
    templates: Templates,
    next: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """Send the person to the provider to sign in."""
    provider = _provider(request, settings)
    try:
        url, sign_in = provider.start_sign_in(_redirect_uri(request, settings))
    except SingleSignOnFailed as failed:
        logger.warning("single sign-on not started: reason=%s", failed.reason_code)
        return _refused(request, templates, NOT_CONFIRMED.format(provider=provider.name), _safe_next(next))
    request.session[SIGN_IN_REQUEST_KEY] = {**sign_in.as_session(), "next": _safe_next(next)}
    return RedirectResponse(url, status_code=303)


@router.get("/sign-in/oidc/callback", name="oidc_callback", response_class=HTMLResponse)
def finish_single_sign_on(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    templates: Templates,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The provider's answer: check it, let governance decide, start the session."""
    provider = _provider(request, settings)
    sent = request.session.pop(SIGN_IN_REQUEST_KEY, None)
    refusal = NOT_CONFIRMED.format(provider=provider.name)
    if not isinstance(sent, dict):
        logger.warning("single sign-on refused: reason=no_sign_in_in_progress")
        return _refused(request, templates, refusal, "/")
    next_path = _safe_next(str(sent.get("next", "/")))
    if error or not code:
        logger.warning("single sign-on refused: reason=provider_error")
        return _refused(request, templates, refusal, next_path)
    try:
        username = provider.identify(
            sent=SignInRequest(state=str(sent["state"]), nonce=str(sent["nonce"]),
                               code_verifier=str(sent["code_verifier"])),
            returned_state=state, code=code, redirect_uri=_redirect_uri(request, settings),
        )
        actor = authenticate_federated(
            db, username, provider=provider.name, client_address=request.client.host if request.client else None
        )
    except SingleSignOnFailed as failed:
        logger.warning("single sign-on refused: reason=%s", failed.reason_code)
        return _refused(request, templates, refusal, next_path)
    except AccessDenied as denied:
        return _refused(request, templates, denied.reason[:1].upper() + denied.reason[1:], next_path)
    sign_in_session(request, actor)
    logger.info("signed in user_id=%s role=%s via single sign-on", actor.user_id, actor.role)
    return RedirectResponse(next_path, status_code=303)
