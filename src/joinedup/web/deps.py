"""The dependencies every route uses, as ``Annotated`` aliases.

.. code-block:: python

    @router.get("/{referral_id}")
    def show(referral_id: int, db: DbSession, user: CurrentUser, templates: Templates, request: Request):
        ...

- ``DbSession``: a store session for this request. It commits when the route returns, and also
  when the route ends in ``AccessDenied`` or ``NotFound`` (so the audit entry governance wrote
  for the refusal is kept: services must decide access before they change anything); any other
  error rolls back.
- ``CurrentUser``: the signed-in ``joinedup.model.Actor`` (session cookie or bearer token);
  raises ``SignInRequired`` (a page redirects to sign-in, an API answers 401).
- ``OptionalUser``: the actor or None, for pages anybody may see (sign-in, home).
- ``Templates``: the app's ``Jinja2Templates`` (NHS.UK macros on the path, ``base.html``).
- ``AppSettings``: the ``Settings`` the app was built with.
- ``TokenScopes``: the bearer token's SMART-style scopes, or None for a cookie session.
- ``SignInThrottle`` / ``SearchThrottle``: count a sign-in attempt (per client address and per
  username) or a patient search (per user) against ``web/rate_limits.py``; over the limit,
  ``TooManyRequests`` (429 + ``Retry-After``), the first refusal of a minute audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from joinedup import governance
from joinedup.errors import AccessDenied, NotFound
from joinedup.model import Actor
from joinedup.settings import Settings
from joinedup.web.auth import CSRF_FIELD, CSRF_HEADER, csrf_matches, scopes_allow, session_user_id
from joinedup.web.errors import ScopeMissing, SignInRequired, TooManyRequests
from joinedup.web.rate_limits import RateLimits

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The token endpoint answers machines with no session; a cross-site post there gains nothing.
CSRF_EXEMPT_PATHS = frozenset({"/auth/token"})


def get_db_session(request: Request) -> Iterator[Session]:
    """A session for one request; see the module docstring for when it commits."""
    session: Session = request.app.state.sessions()
    try:
        yield session
    except (AccessDenied, NotFound):
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()
    finally:
        session.close()


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _load_actor(request: Request, user_id: str, session: Session | None) -> Actor | None:
    """The user's actor as governance sees it now (None if deactivated or gone).

    Read in the request's own store session when there is one (one connection per request,
    not two); otherwise (error pages) in a short session of its own.
    """
    client_address = request.client.host if request.client else None
    if session is not None:
        try:
            return governance.load_actor(session, user_id, client_address)
        except NotFound:
            return None
    with request.app.state.sessions() as own:
        try:
            actor: Actor = governance.load_actor(own, user_id, client_address)
        except NotFound:
            return None
    return actor


def get_optional_user(request: Request, session: Session | None = None) -> Actor | None:
    """The caller: from a bearer token if one is sent (a bad one is refused), else the session.

    Loaded once per request (kept on ``request.state``), and on every request: a deactivated
    user is out at once.
    """
    if hasattr(request.state, "actor"):
        cached: Actor | None = request.state.actor
        return cached
    token = _bearer_token(request)
    scopes: frozenset[str] | None = None
    if token is not None:
        found = request.app.state.tokens.read(token)
        if found is None:
            raise SignInRequired("the bearer token is not valid or has expired; ask for a new one")
        user_id, scopes = found
        actor = _load_actor(request, user_id, session)
        if actor is None:
            raise SignInRequired("the bearer token's user is no longer active")
    else:
        user_id = session_user_id(request)
        actor = _load_actor(request, user_id, session) if user_id else None
        if actor is None and user_id:
            request.session.clear()
    request.state.scopes = scopes
    request.state.actor = actor
    return actor


def _request_user(
    request: Request, session: Annotated[Session, Depends(get_db_session, scope="function")]
) -> Actor | None:
    """``get_optional_user`` as a dependency, reading the actor in the request's store session."""
    return get_optional_user(request, session)


def get_current_user(user: Annotated[Actor | None, Depends(_request_user)]) -> Actor:
    """The signed-in caller; ``SignInRequired`` when there is none."""
    if user is None:
        raise SignInRequired("sign in to continue")
    return user


def get_templates(request: Request) -> Jinja2Templates:
    """The app's templates."""
    templates: Jinja2Templates = request.app.state.templates
    return templates


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_token_scopes(request: Request, user: Annotated[Actor, Depends(get_current_user)]) -> frozenset[str] | None:
    """The bearer token's scopes; None when the caller signed in with a session cookie."""
    scopes: frozenset[str] | None = getattr(request.state, "scopes", None)
    return scopes


def require_scope(scopes: frozenset[str] | None, resource_type: str, action: str = "read") -> None:
    """Refuse a token whose scopes do not cover ``action`` on ``resource_type`` (sessions pass)."""
    if scopes is not None and not scopes_allow(scopes, resource_type, action):
        raise ScopeMissing(
            f"the token's scopes do not allow {action} of {resource_type}; ask for user/{resource_type}.{action}"
        )


async def verify_csrf(request: Request) -> None:
    """Every state-changing request from a browser session must echo the session's CSRF token.

    Sent as the ``csrf_token`` form field or the ``X-CSRF-Token`` header (htmx sends the header,
    see ``base.html``). Bearer-token callers carry no ambient credentials and are exempt.
    """
    if request.method not in UNSAFE_METHODS or _bearer_token(request) is not None:
        return
    if request.url.path in CSRF_EXEMPT_PATHS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not csrf_matches(request, sent):
        raise AccessDenied("the form has expired or did not come from this site; go back, reload it and try again")


def _client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def limit_sign_in_attempts(
    request: Request,
    db: Annotated[Session, Depends(get_db_session, scope="function")],
    username: Annotated[str, Form(max_length=100)] = "",
    grant_type: Annotated[str, Form(max_length=20)] = "password",
) -> None:
    """Count a sign-in attempt; refuse it (429) when its client or username is over the limit.

    Token requests count only with the password grant (an authorization code is single-use and
    was issued to someone already signed in).
    """
    if grant_type != "password":
        return
    limits: RateLimits = request.app.state.rate_limits
    refusal = limits.sign_in_attempt(_client_address(request), username)
    if refusal is None:
        return
    if refusal.first_in_minute:
        governance.record_throttled(
            db, action="sign_in", username=username, client_address=_client_address(request),
            detail=f"rate limited: over {refusal.limit} sign-in attempts a minute per {refusal.counted_by}",
        )
    raise TooManyRequests(
        f"There have been too many attempts to sign in. Wait {refusal.retry_after} seconds, then try again.",
        refusal.retry_after,
    )


def limit_patient_searches(
    request: Request,
    db: Annotated[Session, Depends(get_db_session, scope="function")],
    user: Annotated[Actor, Depends(get_current_user)],
) -> None:
    """Count a patient search by the signed-in user; refuse it (429) over the limit.

    FHIR searches of other resource types look inside one patient's record (already opened, and
    decided per patient), so only ``Patient`` searches are counted there.
    """
    if request.path_params.get("resource_type", "Patient") != "Patient":
        return
    limits: RateLimits = request.app.state.rate_limits
    refusal = limits.patient_search(user.user_id)
    if refusal is None:
        return
    if refusal.first_in_minute:
        governance.record_throttled(
            db, action="search", actor=user, client_address=_client_address(request),
            detail=f"rate limited: over {refusal.limit} patient searches a minute",
        )
    raise TooManyRequests(
        f"You have searched for patients too many times in a minute. Wait {refusal.retry_after} seconds, "
        "then try again.",
        refusal.retry_after,
    )


DbSession = Annotated[Session, Depends(get_db_session, scope="function")]
CurrentUser = Annotated[Actor, Depends(get_current_user)]
OptionalUser = Annotated[Actor | None, Depends(_request_user)]
Templates = Annotated[Jinja2Templates, Depends(get_templates)]
AppSettings = Annotated[Settings, Depends(get_settings)]
TokenScopes = Annotated[frozenset[str] | None, Depends(get_token_scopes)]
SignInThrottle = Annotated[None, Depends(limit_sign_in_attempts)]
SearchThrottle = Annotated[None, Depends(limit_patient_searches)]

__all__ = [
    "AppSettings",
    "CurrentUser",
    "DbSession",
    "OptionalUser",
    "SearchThrottle",
    "SignInThrottle",
    "Templates",
    "TokenScopes",
    "get_current_user",
    "get_db_session",
    "get_optional_user",
    "limit_patient_searches",
    "limit_sign_in_attempts",
    "require_scope",
    "verify_csrf",
]
