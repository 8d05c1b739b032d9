"""Users, organisations' teams and memberships; sign-in with Argon2 passwords, lock-out and TOTP."""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, Conflict, InvalidInput, NotFound
from joinedup.governance.access import authorise
from joinedup.governance.audit import record_audit
from joinedup.governance.totp import new_totp_secret, totp_code, verify_totp
from joinedup.model import ROLES, Actor, system_actor
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import AppUser, IgAlert, Team, TeamMembership

logger = logging.getLogger(__name__)

MAX_FAILED_SIGN_INS = 5
LOCK_OUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
TEAM_KINDS = ("care_team", "coordination_centre", "discharge_service", "ward", "practice", "other")
_hasher = PasswordHasher()
SIGN_IN_REFUSED_PLACEHOLDER = "joinedup-no-such-user"
SIGN_IN_REFUSED = "the username or password is wrong, or the account is locked; try again later"
ENROLMENT_REFUSED = "the security code is wrong, or the sign-in has expired; try again or start again"
# Patients sign in with a password (or the NHS login); every other role is staff and needs a second factor.
ROLES_WITHOUT_SECOND_FACTOR = frozenset({"patient"})


class SecondFactorEnrolmentRequired(AccessDenied):
    """The password was right, but the staff user has no authenticator app yet: enrol one first.

    No session may start until a code from the new authenticator is confirmed
    (``confirm_totp_enrolment``). Carries the user's opaque id, never shown to anyone else.
    """

    def __init__(self, user_id: str, username: str) -> None:
        super().__init__("set up an authenticator app to finish signing in")
        self.user_id = user_id
        self.username = username


@dataclass(frozen=True)
class UserPublic:
    """A user as services hand it out (never the password hash or TOTP secret)."""

    user_id: str
    username: str
    display_name: str | None
    role: str
    org_code: str | None
    person_id: str | None
    team_ids: tuple[str, ...]
    active: bool
    locked: bool
    second_factor: bool


def _public(session: Session, user: AppUser) -> UserPublic:
    now = utc_now()
    return UserPublic(
        user_id=user.user_id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        org_code=user.org_code,
        person_id=user.person_id,
        team_ids=_team_ids(session, user.user_id),
        active=user.active_flag,
        locked=user.locked_until is not None and user.locked_until > now,
        second_factor=user.totp_secret is not None,
    )


def _team_ids(session: Session, user_id: str) -> tuple[str, ...]:
    return tuple(
        session.scalars(
            select(TeamMembership.team_id).where(TeamMembership.user_id == user_id).order_by(TeamMembership.team_id)
        )
    )


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(SIGN_IN_REFUSED_PLACEHOLDER)


def hash_password(password: str) -> str:
    """The Argon2id hash of a password (deliberately slow: about a second on a busy machine)."""
    return _hasher.hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    org_code: str | None = None,
    team_ids: tuple[str, ...] | list[str] = (),
    person_id: str | None = None,
    display_name: str | None = None,
    actor: Actor | None = None,
    password_hash: str | None = None,
) -> UserPublic:
    """Create a user with an Argon2id password hash and their team memberships (teams must exist).

    ``actor``: who is doing it (web pages pass the signed-in administrator: decided and audited);
    None for set-up scripts and the command line, which run with the server's own authority.
    ``password_hash``: an Argon2 hash of ``password`` made already (bulk set-up hashes once).

    Raises:
        InvalidInput: unknown role, short password, or a team that does not exist.
        Conflict: the username is taken.
    """
    _administer(session, actor, "write", f"create user {username!r} ({role})")
    if role not in ROLES or role == "system":
        raise InvalidInput(f"unknown role {role!r}; known: {', '.join(r for r in ROLES if r != 'system')}")
    if role == "patient" and not person_id:
        raise InvalidInput("a patient user must be linked to a person (person_id)")
    _check_password(password)
    username = username.strip()
    if not username:
        raise InvalidInput("a username is required")
    if session.scalar(select(AppUser.user_id).where(AppUser.username == username)):
        raise Conflict(f"the username {username!r} is taken")
    user = AppUser(
        user_id=uuid.uuid4().hex,
        username=username,
        display_name=display_name,
        role=role,
        org_code=org_code,
        person_id=person_id,
        password_hash=password_hash or hash_password(password),
        failed_sign_in_count=0,
        active_flag=True,
    )
    session.add(user)
    session.flush()
    for team_id in team_ids:
        add_team_member(session, team_id=team_id, user_id=user.user_id)
    logger.info("user %s created with role %s", user.user_id, role)
    return _public(session, user)


def actor_for(session: Session, user: AppUser, client_address: str | None = None) -> Actor:
    """The ``Actor`` services see for a stored user."""
    return Actor(
        user_id=user.user_id,
        username=user.username,
        role=user.role,
        org_code=user.org_code,
        team_ids=_team_ids(session, user.user_id),
        person_id=user.person_id,
        client_address=client_address,
    )


def load_actor(session: Session, user_id: str, client_address: str | None = None) -> Actor:
    """The actor for a signed-in user id (the web layer's session cookie holds the id).

    Raises:
        NotFound: no such user, or the account is deactivated.
    """
    user = session.get(AppUser, user_id)
    if user is None or not user.active_flag:
        raise NotFound("no such active user")
    return actor_for(session, user, client_address)


def load_actor_by_username(session: Session, username: str) -> Actor:
    """The actor for a username (command-line operators acting as a named user, for the audit).

    Raises:
        NotFound: no such active user.
    """
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    if user is None or not user.active_flag:
        raise NotFound(f"no active user called {username!r}")
    return actor_for(session, user)


def authenticate(
    session: Session,
    username: str,
    password: str,
    totp: str | None = None,
    *,
    client_address: str | None = None,
    require_staff_second_factor: bool = True,
) -> Actor:
    """Check a sign-in: Argon2 password, lock-out after repeated failures, TOTP when enrolled.

    Commits the outcome (failure count, lock, audit entry) so that a refused sign-in is counted
    even when the caller rolls back.

    Args:
        require_staff_second_factor: staff (every role but patient) who never enrolled a TOTP
            authenticator are not let in on a password alone (``Settings.require_staff_totp``).

    Raises:
        SecondFactorEnrolmentRequired: the password is right but the staff user must enrol first
            (only after a correct password, so it reveals nothing to someone guessing).
        AccessDenied: wrong username/password/code, locked or deactivated; one message for all,
            so the reply does not tell an attacker which usernames exist.
    """
    user = session.scalar(select(AppUser).where(AppUser.username == username.strip()))
    now = utc_now()
    if user is None:
        # Spend the time a real check takes, so timing does not reveal which usernames exist.
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password)
        raise AccessDenied(SIGN_IN_REFUSED)
    failure = _sign_in_failure(user, password, totp, now)
    actor = actor_for(session, user, client_address)
    if failure is not None:
        _refuse_sign_in(session, user, actor, failure, now)
        raise AccessDenied(SIGN_IN_REFUSED)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    if require_staff_second_factor and needs_second_factor_enrolment(user.role, user.totp_secret is not None):
        record_audit(session, actor=actor, action="sign_in", resource_type="user", outcome="denied",
                     detail="no second factor: authenticator enrolment offered")
        session.commit()
        raise SecondFactorEnrolmentRequired(user.user_id, user.username)
    _admit(session, user, actor, now)
    return actor


def needs_second_factor_enrolment(role: str, enrolled: bool) -> bool:
    """Whether a user of ``role`` must enrol an authenticator before signing in (staff not yet enrolled)."""
    return role not in ROLES_WITHOUT_SECOND_FACTOR and not enrolled


def confirm_totp_enrolment(
    session: Session, *, user_id: str, secret: str, code: str, client_address: str | None = None
) -> Actor:
    """Finish a staff sign-in by enrolling the authenticator app that shows ``code`` for ``secret``.

    The second half of a sign-in that ``authenticate`` answered with ``SecondFactorEnrolmentRequired``:
    the secret was shown to the user (as text and an otpauth URI) and is kept only once a code from it
    is confirmed. A wrong code counts as a failed sign-in (lock-out applies). Commits the outcome.

    Raises:
        AccessDenied: wrong code, the account is locked, deactivated or already enrolled.
    """
    user = session.get(AppUser, user_id)
    if user is None:
        raise AccessDenied(ENROLMENT_REFUSED)
    now = utc_now()
    actor = actor_for(session, user, client_address)
    failure = None
    if not user.active_flag:
        failure = "deactivated"
    elif user.locked_until is not None and user.locked_until > now:
        failure = "locked"
    elif user.totp_secret is not None:
        failure = "second factor already enrolled"
    elif not verify_totp(secret, code):
        failure = "wrong second-factor code at enrolment"
    if failure is not None:
        _refuse_sign_in(session, user, actor, failure, now)
        raise AccessDenied(ENROLMENT_REFUSED)
    user.totp_secret = secret
    record_audit(session, actor=actor, action="enrol_second_factor", resource_type="user", detail="totp")
    _admit(session, user, actor, now)
    return actor


def _admit(session: Session, user: AppUser, actor: Actor, now: datetime) -> None:
    user.failed_sign_in_count = 0
    user.locked_until = None
    user.last_sign_in_at = now
    record_audit(session, actor=actor, action="sign_in", resource_type="user")
    session.commit()


def _refuse_sign_in(session: Session, user: AppUser, actor: Actor, failure: str, now: datetime) -> None:
    """Count a failed sign-in (locking the account after too many), audit it and commit."""
    user.failed_sign_in_count += 1
    if user.failed_sign_in_count >= MAX_FAILED_SIGN_INS:
        # Locked for a while; counting starts again, so each further run of failures re-locks.
        user.locked_until = now + LOCK_OUT
        user.failed_sign_in_count = 0
        session.add(
            IgAlert(
                kind="account_locked",
                user_id=user.user_id,
                summary=f"{user.username} locked out after {MAX_FAILED_SIGN_INS} failed sign-ins",
                status="open",
            )
        )
    record_audit(session, actor=actor, action="sign_in", resource_type="user", outcome="denied", detail=failure)
    session.commit()


def record_throttled(
    session: Session, *, action: str, detail: str, actor: Actor | None = None, username: str | None = None,
    client_address: str | None = None,
) -> None:
    """Audit a request refused for coming too often (sign-in attempts, searches).

    ``actor``: the signed-in user, for a search. For a sign-in, the user the attempts name when
    that user exists; otherwise the refusal is recorded as the web's own (the attempted username is
    never stored: it may be anything a person typed).
    """
    if actor is None:
        user = session.scalar(select(AppUser).where(AppUser.username == username.strip())) if username else None
        actor = actor_for(session, user, client_address) if user else system_actor("web:rate-limit")
    record_audit(session, actor=actor, action=action, resource_type="user" if action == "sign_in" else "patient",
                 outcome="denied", detail=detail, client_address=client_address)
    session.commit()


def _sign_in_failure(user: AppUser, password: str, totp: str | None, now: datetime) -> str | None:
    """Why the sign-in fails (for the audit, not the user), or None when it succeeds."""
    if not user.active_flag:
        return "deactivated"
    if user.locked_until is not None and user.locked_until > now:
        return "locked"
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return "wrong password"
    if user.totp_secret is not None and (totp is None or not verify_totp(user.totp_secret, totp)):
        return "wrong or missing second-factor code"
    return None


def _user(session: Session, username: str) -> AppUser:
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    if user is None:
        raise NotFound(f"no user called {username!r}")
    return user


def _administer(session: Session, actor: Actor | None, action: str, detail: str) -> None:
    """Decide and audit an administrator's action on users (no-op for the server's own scripts)."""
    if actor is not None:
        authorise(session, actor=actor, person_id=None, resource_type="user", action=action, detail=detail)


def list_users(session: Session, *, actor: Actor | None = None) -> list[UserPublic]:
    """Every user, by username."""
    _administer(session, actor, "read", "list users")
    return [_public(session, u) for u in session.scalars(select(AppUser).order_by(AppUser.username))]


def get_user(session: Session, username: str) -> UserPublic:
    """One user by username.

    Raises:
        NotFound: no such user.
    """
    return _public(session, _user(session, username))


def set_password(session: Session, *, username: str, password: str) -> None:
    """Replace a user's password (and clear any lock-out)."""
    _check_password(password)
    user = _user(session, username)
    user.password_hash = _hasher.hash(password)
    user.failed_sign_in_count = 0
    user.locked_until = None


def unlock_user(session: Session, *, username: str, actor: Actor | None = None) -> None:
    """Clear a lock-out after repeated failed sign-ins."""
    _administer(session, actor, "write", f"unlock {username!r}")
    user = _user(session, username)
    user.failed_sign_in_count = 0
    user.locked_until = None


def set_user_active(session: Session, *, username: str, active: bool, actor: Actor | None = None) -> None:
    """Deactivate (leaver) or reactivate a user; users are never deleted, the audit names them."""
    _administer(session, actor, "write", f"{'activate' if active else 'deactivate'} {username!r}")
    _user(session, username).active_flag = active


def enrol_totp(session: Session, *, username: str) -> str:
    """Give a user a TOTP second factor; returns the secret to show once (as a QR code or text)."""
    user = _user(session, username)
    user.totp_secret = new_totp_secret()
    return user.totp_secret


def current_totp_code(session: Session, *, username: str) -> str:
    """The code a user's authenticator shows now, read from their stored secret.

    For demonstrations and tests only (``joinedup users code``): whoever can read the store can
    compute any user's code, so this gives an operator nothing they did not have already.

    Raises:
        NotFound: no such user.
        InvalidInput: the user has no authenticator enrolled.
    """
    user = _user(session, username)
    if user.totp_secret is None:
        raise InvalidInput(f"{username!r} has no authenticator enrolled; enrol one with 'joinedup users totp'")
    return totp_code(user.totp_secret)


def ensure_team(
    session: Session,
    *,
    team_id: str,
    name: str,
    org_code: str | None = None,
    kind: str = "care_team",
    actor: Actor | None = None,
) -> Team:
    """Create a team, or return the existing one with that id (idempotent, for set-up scripts).

    Raises:
        InvalidInput: unknown team kind.
    """
    if actor is not None:
        authorise(session, actor=actor, person_id=None, resource_type="team", action="write", detail=team_id)
    if kind not in TEAM_KINDS:
        raise InvalidInput(f"unknown team kind {kind!r}; known: {', '.join(TEAM_KINDS)}")
    team = session.get(Team, team_id)
    if team is None:
        team = Team(team_id=team_id, name=name, org_code=org_code, kind=kind)
        session.add(team)
        session.flush()
    return team


@dataclass(frozen=True)
class TeamPublic:
    """A team as pages show it."""

    team_id: str
    name: str
    org_code: str | None
    kind: str


def list_teams(session: Session, *, actor: Actor | None = None) -> list[TeamPublic]:
    """Every team, by id."""
    if actor is not None:
        authorise(session, actor=actor, person_id=None, resource_type="team", action="read")
    return [
        TeamPublic(t.team_id, t.name, t.org_code, t.kind) for t in session.scalars(select(Team).order_by(Team.team_id))
    ]


def add_team_member(session: Session, *, team_id: str, user_id: str, actor: Actor | None = None) -> None:
    """Put a user in a team (no-op when already a member).

    Raises:
        InvalidInput: the team does not exist.
    """
    if actor is not None:
        authorise(session, actor=actor, person_id=None, resource_type="team", action="write", detail=team_id)
    if session.get(Team, team_id) is None:
        raise InvalidInput(f"no team {team_id!r}; create it first")
    if session.get(TeamMembership, (team_id, user_id)) is None:
        session.add(TeamMembership(team_id=team_id, user_id=user_id))
        session.flush()


def remove_team_member(session: Session, *, team_id: str, user_id: str, actor: Actor | None = None) -> None:
    """Take a user out of a team (no-op when not a member)."""
    if actor is not None:
        authorise(session, actor=actor, person_id=None, resource_type="team", action="write", detail=team_id)
    membership = session.get(TeamMembership, (team_id, user_id))
    if membership is not None:
        session.delete(membership)
        session.flush()
