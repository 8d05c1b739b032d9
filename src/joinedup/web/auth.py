"""Who is calling: signed session cookies for people, signed bearer tokens for machines.

*Sessions.* Starlette's ``SessionMiddleware`` keeps a signed (itsdangerous) cookie,
``joinedup_session``: ``HttpOnly``, ``Secure``, ``SameSite=Lax``, re-issued on every response,
refused after 30 idle minutes and 12 hours after sign-in whatever the activity. It holds the
signed-in user's opaque id (no patient data), when they signed in, and the CSRF token that every
form and htmx request must echo back.

*Bearer tokens.* ``POST /auth/token`` (username, password, ``scope``; or a SMART authorisation
code, see ``web/smart.py``) returns a token signed with
the same key, valid one hour, carrying the user id and SMART-style scopes
(``user/Patient.read``, ``user/*.read``, ``patient/*.read``). Scopes only ever narrow what
governance allows the user; they never widen it. Tokens are stateless: they cannot be revoked
before they expire, which is why they are short-lived.
"""

from __future__ import annotations

import hmac
import secrets
import time

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection

from joinedup.model import Actor

SESSION_COOKIE = "joinedup_session"
SESSION_IDLE_SECONDS = 30 * 60
# However active, a session ends this long after sign-in (a shift), and the user signs in again.
SESSION_ABSOLUTE_SECONDS = 12 * 60 * 60
TOKEN_LIFETIME_SECONDS = 60 * 60
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Session keys kept across sign-in (everything else is cleared).
SMART_REQUEST_KEY = "smart_authorize_request"
SURVIVES_SIGN_IN = (SMART_REQUEST_KEY,)

# Resource types the FHIR API serves, for scope checks; "*" covers them all.
SCOPE_CONTEXTS = ("user", "patient", "system")


def csrf_token(connection: HTTPConnection) -> str:
    """The session's CSRF token, made on first use."""
    token = connection.session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        connection.session[CSRF_FIELD] = token
    return token


def csrf_matches(connection: HTTPConnection, sent: str | None) -> bool:
    """Whether ``sent`` equals the session's CSRF token (compared in constant time)."""
    expected = connection.session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected, sent)


def sign_in_session(connection: HTTPConnection, actor: Actor) -> None:
    """Start a fresh session for ``actor``: nothing from before sign-in survives, new CSRF token.

    Only the user id is kept: the actor (role, teams, whether the account is still active) is
    loaded afresh from governance on every request.
    """
    # An app's authorisation request waiting for this sign-in (SMART launch) carries over: it grants
    # nothing by itself, and the user still approves it once signed in.
    carried = {key: connection.session[key] for key in SURVIVES_SIGN_IN if key in connection.session}
    connection.session.clear()
    connection.session.update(carried)
    connection.session["user_id"] = actor.user_id
    connection.session["signed_in_at"] = int(time.time())
    connection.session[CSRF_FIELD] = secrets.token_urlsafe(32)


def session_user_id(connection: HTTPConnection, now: float | None = None) -> str | None:
    """The user id signed in to this session, if any and not past its absolute lifetime."""
    user_id = connection.session.get("user_id")
    signed_in_at = connection.session.get("signed_in_at")
    if not isinstance(user_id, str) or not user_id or not isinstance(signed_in_at, int):
        return None
    if (now if now is not None else time.time()) - signed_in_at > SESSION_ABSOLUTE_SECONDS:
        return None
    return user_id


class TokenService:
    """Issues and reads SMART-style bearer tokens signed with the session key."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="joinedup.bearer-token")

    def issue(self, actor: Actor, scopes: frozenset[str]) -> str:
        """A token for ``actor`` limited to ``scopes``."""
        return self._serializer.dumps({"user_id": actor.user_id, "scopes": sorted(scopes)})

    def read(self, token: str) -> tuple[str, frozenset[str]] | None:
        """The user id and scopes of a valid, unexpired token; None otherwise."""
        try:
            data = self._serializer.loads(token, max_age=TOKEN_LIFETIME_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("user_id"), str):
            return None
        return data["user_id"], frozenset(str(scope) for scope in data.get("scopes") or ())


def parse_scopes(raw: str | None) -> frozenset[str]:
    """The well-formed SMART-style scopes in a space-separated ``scope`` parameter.

    ``<context>/<ResourceType or *>.<read|write|*>``; anything else is dropped.
    """
    scopes = set()
    for scope in (raw or "").split():
        context, _, rest = scope.partition("/")
        resource, _, permission = rest.partition(".")
        if context in SCOPE_CONTEXTS and resource and permission in ("read", "write", "*"):
            scopes.add(scope)
    return frozenset(scopes)


def scopes_allow(scopes: frozenset[str], resource_type: str, action: str = "read") -> bool:
    """Whether any scope covers ``action`` on ``resource_type``."""
    for scope in scopes:
        _, _, rest = scope.partition("/")
        resource, _, permission = rest.partition(".")
        if resource in ("*", resource_type) and permission in ("*", action):
            return True
    return False


__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_ABSOLUTE_SECONDS",
    "SESSION_COOKIE",
    "SESSION_IDLE_SECONDS",
    "SMART_REQUEST_KEY",
    "TOKEN_LIFETIME_SECONDS",
    "TokenService",
    "csrf_matches",
    "csrf_token",
    "parse_scopes",
    "scopes_allow",
    "session_user_id",
    "sign_in_session",
]
