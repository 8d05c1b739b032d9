"""SMART on FHIR authorisation codes: a signed-in user approves an app; the app redeems the code once.

What an app may be granted is narrowed here, by the access policy: a resource type only when the
user's role may read it through some ordinary relationship (never through break-glass). The token
that follows still only narrows: governance decides and audits every read, person by person.

A code lives two minutes, is stored as its hash, is bound to the app, the exact redirect URI and
the PKCE (S256) challenge, and is spent on the first redemption, right or wrong: a second try, or
a guessed verifier, gets nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import update
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, NotFound
from joinedup.governance.access import _matching_rules
from joinedup.governance.audit import record_audit
from joinedup.governance.policy import RELATIONSHIPS, load_access_policy
from joinedup.governance.users import load_actor
from joinedup.model import Actor
from joinedup.store.tables.authorisation import SmartAuthorisationCode
from joinedup.store.tables.base import utc_now

CODE_LIFETIME = timedelta(minutes=2)
# An app's access is for care: it is never granted through an emergency or a system relationship.
_APP_RELATIONSHIPS = frozenset(RELATIONSHIPS) - {"break_glass", "system"}


@dataclass(frozen=True)
class RedeemedCode:
    """What a redeemed code grants: the user (as governance sees them now), scopes, patient in context."""

    actor: Actor
    scope: str
    patient_person_id: str | None


def readable_resource_types(actor: Actor, resource_types: Mapping[str, str]) -> frozenset[str]:
    """The names (keys of ``resource_types``, e.g. FHIR types) whose governance type the role may read.

    Args:
        resource_types: name -> governance resource type (``{"Observation": "observation"}``).
    """
    policy = load_access_policy()
    return frozenset(
        name
        for name, governance_type in resource_types.items()
        if _matching_rules(policy, role=actor.role, held=set(_APP_RELATIONSHIPS), resource_type=governance_type,
                           action="read", purpose="direct_care")
    )


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def issue_authorisation_code(
    session: Session,
    *,
    actor: Actor,
    client_id: str,
    redirect_uri: str,
    scopes: Iterable[str],
    code_challenge: str,
    patient_person_id: str | None = None,
) -> str:
    """Record the user's approval of an app and return the one-time code for it (audited)."""
    code = secrets.token_urlsafe(32)
    scope = " ".join(sorted(scopes))
    session.add(
        SmartAuthorisationCode(
            code_hash=_hash(code), client_id=client_id, user_id=actor.user_id, redirect_uri=redirect_uri,
            scope=scope, code_challenge=code_challenge, patient_person_id=patient_person_id,
            issued_at=utc_now(), expires_at=utc_now() + CODE_LIFETIME,
        )
    )
    record_audit(session, actor=actor, action="authorise_app", resource_type="user",
                 detail=f"SMART app {client_id}: {scope}")
    return code


def redeem_authorisation_code(
    session: Session,
    *,
    code: str,
    client_id: str,
    redirect_uri: str,
    code_verifier: str,
    client_address: str | None = None,
) -> RedeemedCode:
    """Spend a code: it must be unspent, unexpired, this app's, for this redirect URI and PKCE verifier.

    Raises:
        AccessDenied: any of those fails, or the user is no longer active (the reason says which;
            it names no patient). A known code is spent whatever the outcome, and the refusal audited.
    """
    now = utc_now()
    code_hash = _hash(code)
    row = session.get(SmartAuthorisationCode, code_hash)
    if row is None:
        raise AccessDenied("the authorisation code is not known")
    # One UPDATE decides who spends it, so two redemptions at once cannot both succeed.
    spent = session.execute(
        update(SmartAuthorisationCode)
        .where(SmartAuthorisationCode.code_hash == code_hash, SmartAuthorisationCode.redeemed_at.is_(None))
        .values(redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    failure = None
    if getattr(spent, "rowcount", 0) != 1:
        failure = "the authorisation code has already been used"
    elif row.expires_at < now:
        failure = "the authorisation code has expired"
    elif row.client_id != client_id:
        failure = "the authorisation code was issued to another app"
    elif row.redirect_uri != redirect_uri:
        failure = "the redirect_uri differs from the one the code was issued for"
    elif not hmac.compare_digest(create_s256_code_challenge(code_verifier), row.code_challenge):
        failure = "the code_verifier does not match the code_challenge (PKCE S256)"
    try:
        actor = load_actor(session, row.user_id, client_address)
    except NotFound:
        raise AccessDenied("the user who approved the app is no longer active") from None
    if failure is not None:
        record_audit(session, actor=actor, action="authorise_app", resource_type="user", outcome="denied",
                     detail=f"SMART app {client_id}: {failure}")
        raise AccessDenied(failure)
    record_audit(session, actor=actor, action="issue_token", resource_type="user",
                 detail=f"SMART app {client_id}: {row.scope}")
    return RedeemedCode(actor=actor, scope=row.scope, patient_person_id=row.patient_person_id)


__all__ = [
    "CODE_LIFETIME",
    "RedeemedCode",
    "issue_authorisation_code",
    "readable_resource_types",
    "redeem_authorisation_code",
]
