"""SMART on FHIR for apps: what the app may be granted, and the authorisation-code grant of the token endpoint.

Standalone launch (SMART App Launch 1.0/2.0, authorisation code with PKCE S256, public clients):
the app sends the user to ``/auth/authorize``; the user signs in and approves the scopes, narrowed
to what governance lets their role read; the app exchanges the code at ``POST /auth/token``
(``grant_type=authorization_code``, ``code``, ``redirect_uri``, ``code_verifier``, ``client_id``)
for a bearer token like the password grant's. Apps are registered in the settings
(``smart_clients``: client id, name, exact redirect URIs).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied
from joinedup.governance.smart_authorisation import readable_resource_types, redeem_authorisation_code
from joinedup.model import Actor
from joinedup.record.fhir import KINDS
from joinedup.settings import Settings
from joinedup.web.auth import TOKEN_LIFETIME_SECONDS, parse_scopes

LAUNCH_PATIENT = "launch/patient"
# The FHIR types the API serves and the governance resource type that decides each.
FHIR_GOVERNANCE_TYPES: dict[str, str] = {"Patient": "patient", **{name: kind.governance_type
                                                                  for name, kind in KINDS.items()}}


def fhir_base_url(request: Request) -> str:
    """This server's FHIR base, the ``aud`` an app must name."""
    return str(request.base_url).rstrip("/") + "/fhir"


def smart_configuration(base_url: str) -> dict[str, Any]:
    """The ``/.well-known/smart-configuration`` document (SMART App Launch 2.0)."""
    return {
        "authorization_endpoint": f"{base_url}/auth/authorize",
        "token_endpoint": f"{base_url}/auth/token",
        "token_endpoint_auth_methods_supported": ["none"],
        "grant_types_supported": ["authorization_code"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": [LAUNCH_PATIENT, "patient/*.read", "user/*.read",
                             *(f"{context}/{name}.read" for context in ("patient", "user")
                               for name in FHIR_GOVERNANCE_TYPES)],
        "capabilities": ["launch-standalone", "client-public", "context-standalone-patient",
                         "permission-patient", "permission-user", "permission-v1"],
    }


def grantable_scopes(actor: Actor, requested: str) -> frozenset[str]:
    """The requested scopes narrowed to what the user may have: read only, types their role may read.

    Staff get ``user/`` scopes; a patient gets ``patient/`` (and ``user/``, the same: their own
    record) and ``launch/patient`` (their own record in context). ``*`` stays ``*`` only when the
    role may read every type; otherwise it becomes the types it may read. Anything else is dropped.
    """
    readable = readable_resource_types(actor, FHIR_GOVERNANCE_TYPES)
    contexts = ("patient", "user") if actor.role == "patient" else ("user",)
    granted: set[str] = set()
    for scope in parse_scopes(requested):
        context, _, rest = scope.partition("/")
        resource, _, permission = rest.partition(".")
        if context not in contexts or permission not in ("read", "*"):
            continue
        if resource == "*":
            every = readable == frozenset(FHIR_GOVERNANCE_TYPES)
            granted |= {f"{context}/*.read"} if every else {f"{context}/{name}.read" for name in readable}
        elif resource in readable:
            granted.add(f"{context}/{resource}.read")
    if granted and LAUNCH_PATIENT in requested.split() and actor.role == "patient" and actor.person_id:
        granted.add(LAUNCH_PATIENT)
    return frozenset(granted)


def token_error(error: str, description: str, status_code: int = 400) -> JSONResponse:
    """An OAuth 2.0 error answer from the token endpoint (RFC 6749 §5.2)."""
    return JSONResponse({"error": error, "error_description": description}, status_code=status_code,
                        headers={"Cache-Control": "no-store"})


def exchange_code(
    request: Request, db: Session, *, code: str, redirect_uri: str, code_verifier: str, client_id: str
) -> JSONResponse:
    """The authorisation-code grant: spend the code, answer with a bearer token (and the patient in context)."""
    settings: Settings = request.app.state.settings
    if settings.smart_client(client_id) is None:
        return token_error("invalid_client", "this app is not registered", status_code=401)
    if not (code and redirect_uri and code_verifier):
        return token_error("invalid_request", "code, redirect_uri and code_verifier are required")
    try:
        redeemed = redeem_authorisation_code(
            db, code=code, client_id=client_id, redirect_uri=redirect_uri, code_verifier=code_verifier,
            client_address=request.client.host if request.client else None,
        )
    except AccessDenied as refused:
        return token_error("invalid_grant", refused.reason or "the authorisation code cannot be used")
    granted = redeemed.scope.split()
    body: dict[str, Any] = {
        "access_token": request.app.state.tokens.issue(redeemed.actor, parse_scopes(redeemed.scope)),
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECONDS,
        "scope": " ".join(granted),
    }
    if redeemed.patient_person_id is not None:
        body["patient"] = redeemed.patient_person_id
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


__all__ = ["FHIR_GOVERNANCE_TYPES", "LAUNCH_PATIENT", "exchange_code", "fhir_base_url", "grantable_scopes",
           "smart_configuration", "token_error"]
