"""Single sign-on: staff whom an OpenID Connect provider (NHS Care Identity Service 2) has identified.

The provider proves who the person is, with its own second factor (a smartcard, an authenticator);
joinedup's governance still decides whether they may come in and with which role. Nobody is created
on the fly: the provider's username claim must name an existing, active member of staff. Every
attempt for a known user is audited like a password sign-in; an identity joinedup does not know
has nobody to attribute an audit entry to, so it is logged with a reason code only.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied
from joinedup.governance.audit import record_audit
from joinedup.governance.users import actor_for
from joinedup.model import Actor
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import AppUser

logger = logging.getLogger(__name__)

NOT_SET_UP = (
    "your identity was confirmed, but you do not have a joinedup account; "
    "ask your system administrator to add you with your NHS Care Identity username"
)
DEACTIVATED = "your joinedup account is deactivated; ask your system administrator"
NOT_FOR_PATIENTS = "NHS Care Identity sign-in is for staff; sign in with your username and password"


def authenticate_federated(
    session: Session, username: str, *, provider: str, client_address: str | None = None
) -> Actor:
    """Let in the member of staff the provider identified, if governance knows them and they are active.

    The provider's own multi-factor authentication is the second factor: joinedup's TOTP is not
    asked for on this path. Commits the outcome (audit entry, last sign-in) like ``authenticate``.

    Args:
        username: the value of the configured claim (``preferred_username`` by default).
        provider: the provider's name, for the audit entry.

    Raises:
        AccessDenied: no such user, a deactivated account, or a patient account (staff only);
            the reason says what to do.
    """
    user = session.scalar(select(AppUser).where(AppUser.username == username.strip()))
    if user is None:
        logger.warning("single sign-on refused: reason=no_such_user")
        raise AccessDenied(NOT_SET_UP)
    actor = actor_for(session, user, client_address)
    refusal = DEACTIVATED if not user.active_flag else NOT_FOR_PATIENTS if user.role == "patient" else None
    if refusal is not None:
        detail = f"single sign-on via {provider}: " + ("deactivated" if refusal is DEACTIVATED else "patient account")
        record_audit(session, actor=actor, action="sign_in", resource_type="user", outcome="denied", detail=detail)
        session.commit()
        raise AccessDenied(refusal)
    user.last_sign_in_at = utc_now()
    record_audit(
        session, actor=actor, action="sign_in", resource_type="user",
        detail=f"single sign-on via {provider} (second factor by the provider)",
    )
    session.commit()
    return actor


__all__ = ["DEACTIVATED", "NOT_FOR_PATIENTS", "NOT_SET_UP", "authenticate_federated"]
