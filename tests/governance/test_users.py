"""Users and sign-in: Argon2 hashes, lock-out after repeated failures, TOTP second factor."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, Conflict, InvalidInput
from joinedup.governance import authenticate, create_user, ensure_team
from joinedup.governance.totp import totp_code, verify_totp
from joinedup.governance.users import (
    MAX_FAILED_SIGN_INS,
    SIGN_IN_REFUSED,
    SecondFactorEnrolmentRequired,
    confirm_totp_enrolment,
    current_totp_code,
    enrol_totp,
    unlock_user,
)
from joinedup.store.tables.governance import AppUser, AuditEntry, IgAlert

PASSWORD = "correct horse battery"


def test_a_user_signs_in_as_the_actor_with_role_org_and_teams(session: Session) -> None:
    ensure_team(session, team_id="ccc", name="Coordination centre", org_code="CCC01", kind="coordination_centre")
    created = create_user(
        session, username="cora", password=PASSWORD, role="care_coordinator", org_code="CCC01", team_ids=["ccc"]
    )
    stored = session.get(AppUser, created.user_id)
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash

    # The second factor has its own tests below.
    actor = authenticate(session, "cora", PASSWORD, require_staff_second_factor=False)

    assert (actor.user_id, actor.role, actor.org_code, actor.team_ids) == (
        created.user_id,
        "care_coordinator",
        "CCC01",
        ("ccc",),
    )
    sign_ins = session.scalars(select(AuditEntry).where(AuditEntry.action == "sign_in")).all()
    assert [(e.user_id, e.outcome) for e in sign_ins] == [(created.user_id, "allowed")]


def test_repeated_failures_lock_the_account_even_with_the_right_password(sqlite_session: Session) -> None:
    # Argon2 is deliberately slow: this engine-independent logic runs on SQLite only.
    session = sqlite_session
    create_user(session, username="gina", password=PASSWORD, role="gp", org_code="P00001")
    for _ in range(MAX_FAILED_SIGN_INS):
        with pytest.raises(AccessDenied):
            authenticate(session, "gina", "wrong password!")
    with pytest.raises(AccessDenied) as refused:
        authenticate(session, "gina", PASSWORD)
    # The same words for an unknown user, a wrong password and a lock: nothing to probe.
    with pytest.raises(AccessDenied) as unknown:
        authenticate(session, "nobody", PASSWORD)
    assert refused.value.reason == unknown.value.reason
    outcomes = session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "sign_in").order_by(AuditEntry.sequence)
    ).all()
    assert outcomes == ["wrong password"] * MAX_FAILED_SIGN_INS + ["locked"]
    alerts = session.scalars(select(IgAlert.summary).where(IgAlert.kind == "account_locked")).all()
    assert alerts == [f"gina locked out after {MAX_FAILED_SIGN_INS} failed sign-ins"]

    unlock_user(session, username="gina")
    assert authenticate(session, "gina", PASSWORD, require_staff_second_factor=False).username == "gina"


def test_a_second_factor_is_required_once_enrolled(sqlite_session: Session) -> None:
    session = sqlite_session
    create_user(session, username="kofi", password=PASSWORD, role="consultant", org_code="RXX")
    secret = enrol_totp(session, username="kofi")
    with pytest.raises(AccessDenied):
        authenticate(session, "kofi", PASSWORD)
    with pytest.raises(AccessDenied):
        authenticate(session, "kofi", PASSWORD, totp="000000" if totp_code(secret) != "000000" else "111111")
    assert authenticate(session, "kofi", PASSWORD, totp=totp_code(secret)).role == "consultant"


def test_staff_must_enrol_a_second_factor_and_patients_need_none(sqlite_session: Session) -> None:
    session = sqlite_session
    nurse = create_user(session, username="nell", password=PASSWORD, role="community_nurse")
    create_user(session, username="pat", password=PASSWORD, role="patient", person_id="p-1")
    assert authenticate(session, "pat", PASSWORD).role == "patient"
    # A wrong password says nothing about enrolment: the one message for every refusal.
    with pytest.raises(AccessDenied) as wrong:
        authenticate(session, "nell", "wrong password!")
    assert not isinstance(wrong.value, SecondFactorEnrolmentRequired)
    assert wrong.value.reason == SIGN_IN_REFUSED
    with pytest.raises(SecondFactorEnrolmentRequired) as needed:
        authenticate(session, "nell", PASSWORD)
    assert needed.value.user_id == nurse.user_id

    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    wrong_code = "000000" if totp_code(secret) != "000000" else "111111"
    with pytest.raises(AccessDenied):
        confirm_totp_enrolment(session, user_id=nurse.user_id, secret=secret, code=wrong_code)
    stored = session.get(AppUser, nurse.user_id)
    assert stored is not None
    assert (stored.totp_secret, stored.failed_sign_in_count) == (None, 2)  # the wrong password, the wrong code
    actor = confirm_totp_enrolment(session, user_id=nurse.user_id, secret=secret, code=totp_code(secret))
    assert (actor.user_id, stored.totp_secret, stored.failed_sign_in_count) == (nurse.user_id, secret, 0)
    assert current_totp_code(session, username="nell") == totp_code(secret)
    # Enrolled: the code is required from now on, and a second enrolment is refused.
    with pytest.raises(AccessDenied):
        authenticate(session, "nell", PASSWORD)
    assert authenticate(session, "nell", PASSWORD, totp=totp_code(secret)).username == "nell"
    with pytest.raises(AccessDenied):
        confirm_totp_enrolment(session, user_id=nurse.user_id, secret=secret, code=totp_code(secret))
    details = session.scalars(select(AuditEntry.detail).where(AuditEntry.user_id == nurse.user_id)
                              .order_by(AuditEntry.sequence)).all()
    assert details == ["wrong password", "no second factor: authenticator enrolment offered",
                       "wrong second-factor code at enrolment", "totp", "",
                       "wrong or missing second-factor code", "", "second factor already enrolled"]


def test_totp_matches_the_rfc_6238_test_vectors() -> None:
    # RFC 6238 appendix B, SHA-1, secret "12345678901234567890" (base32 below), 8 digits truncated to 6.
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp_code(secret, at=59) == "287082"
    assert totp_code(secret, at=1111111109) == "081804"
    assert totp_code(secret, at=2000000000) == "279037"
    assert verify_totp(secret, totp_code(secret, at=time.time() - 30))
    assert not verify_totp(secret, totp_code(secret, at=time.time() - 300))


def test_bad_users_are_refused(sqlite_session: Session) -> None:
    create_user(sqlite_session, username="ann", password=PASSWORD, role="analyst")
    with pytest.raises(Conflict):
        create_user(sqlite_session, username="ann", password=PASSWORD, role="analyst")
    with pytest.raises(InvalidInput, match="unknown role"):
        create_user(sqlite_session, username="bob", password=PASSWORD, role="wizard")
    with pytest.raises(InvalidInput, match="at least"):
        create_user(sqlite_session, username="bob", password="short", role="analyst")
    with pytest.raises(InvalidInput, match="no team"):
        create_user(sqlite_session, username="bob", password=PASSWORD, role="analyst", team_ids=["ghosts"])

