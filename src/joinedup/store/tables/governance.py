"""Governance: users, teams, care relationships, break-glass, opt-outs, the audit trail, data sharing.

``audit_entry`` is append-only and hash-chained (each row carries the hash of the one before it);
``audit_checkpoint`` seals the chain head with an HMAC under a key the database does not hold.
On PostgreSQL the application inserts audit rows through the role ``joinedup_audit_writer``, which
has no UPDATE or DELETE on them (created by the governance migration).

National data opt-out answers are kept as dated lists (``opt_out_list``/``opt_out_list_entry``) and
never written onto the person: secondary uses ask ``joinedup.governance.secondary_use_person_ids``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.store.tables.base import Base, BigId, UtcDateTime, utc_now


class AppUser(Base):
    """Somebody who signs in: staff, volunteer, analyst, board member or patient."""

    __tablename__ = "app_user"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    # One of joinedup.model.ROLES.
    role: Mapped[str] = mapped_column(String(40))
    org_code: Mapped[str | None] = mapped_column(String(12))
    # For a patient: the linked person they are.
    person_id: Mapped[str | None] = mapped_column(String(32))
    # Argon2id hash (argon2-cffi's encoded form).
    password_hash: Mapped[str] = mapped_column(String(200))
    # Base32 RFC 6238 secret when the user has a second factor.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    failed_sign_in_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active_flag: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Team(Base):
    """A group of staff that holds relationships: a care team, the coordination centre, a service."""

    __tablename__ = "team"

    team_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    org_code: Mapped[str | None] = mapped_column(String(12))
    # care_team | coordination_centre | discharge_service | ward | practice | other
    kind: Mapped[str] = mapped_column(String(30), default="care_team")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class TeamMembership(Base):
    """A user's membership of a team."""

    __tablename__ = "team_membership"

    team_id: Mapped[str] = mapped_column(ForeignKey("team.team_id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.user_id"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class CareRelationship(Base):
    """A team's legitimate relationship with a person (care team, coordination, discharge service)."""

    __tablename__ = "care_relationship"
    __table_args__ = (Index("ix_care_relationship_person_team", "person_id", "team_id"),)

    care_relationship_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(ForeignKey("team.team_id"))
    # care_team | coordination | discharge_service
    kind: Mapped[str] = mapped_column(String(30))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    granted_by: Mapped[str | None] = mapped_column(String(64))
    ended_reason: Mapped[str | None] = mapped_column(String(200))


class BreakGlassSession(Base):
    """Emergency access without a relationship: reason given, time-limited, reviewed by IG."""

    __tablename__ = "break_glass_session"
    __table_args__ = (Index("ix_break_glass_session_user_person", "user_id", "person_id"),)

    break_glass_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(40))
    org_code: Mapped[str | None] = mapped_column(String(12))
    person_id: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # pending | appropriate | inappropriate
    review_outcome: Mapped[str] = mapped_column(String(20), default="pending")
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    review_note: Mapped[str | None] = mapped_column(Text)


class IgAlert(Base):
    """An alert for the information-governance officer; never carries patient identifiers."""

    __tablename__ = "ig_alert"

    ig_alert_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # break_glass | unusual_access | chain_broken
    kind: Mapped[str] = mapped_column(String(30))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    user_id: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(400))
    break_glass_id: Mapped[int | None] = mapped_column(ForeignKey("break_glass_session.break_glass_id"))
    # open | closed
    status: Mapped[str] = mapped_column(String(12), default="open")
    closed_by: Mapped[str | None] = mapped_column(String(80))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """One read or write of identifiable data (or a denial), hash-chained to the entry before it."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_person", "person_id", "occurred_at"),)

    audit_entry_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # 1, 2, 3... without gaps: the chain's order, independent of the key.
    sequence: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    user_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(40))
    org_code: Mapped[str | None] = mapped_column(String(12))
    person_id: Mapped[str | None] = mapped_column(String(32))
    # read | write | create | delete | search | export | break_glass | sign_in | ...
    action: Mapped[str] = mapped_column(String(30))
    resource_type: Mapped[str] = mapped_column(String(40))
    # allowed | denied | not_found
    outcome: Mapped[str] = mapped_column(String(12), default="allowed")
    purpose: Mapped[str | None] = mapped_column(String(40))
    # The legitimate relationship, or "break_glass: <reason>".
    basis: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    client_address: Mapped[str | None] = mapped_column(String(64))
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """The chain head at a moment, sealed with an HMAC under a key kept outside the database."""

    __tablename__ = "audit_checkpoint"

    audit_checkpoint_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    # HMAC-SHA256 over (previous checkpoint's seal, sequence, head hash, created_at).
    seal: Mapped[str] = mapped_column(String(64))


class OptOutList(Base):
    """A national data opt-out "cleaned list": people checked and NOT opted out, for one purpose."""

    __tablename__ = "opt_out_list"
    __table_args__ = (UniqueConstraint("purpose", "list_date"),)

    opt_out_list_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(String(40))
    list_date: Mapped[date] = mapped_column(Date)
    file_name: Mapped[str] = mapped_column(String(200))
    content_sha256: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class OptOutListEntry(Base):
    """One NHS number on a cleaned list."""

    __tablename__ = "opt_out_list_entry"

    opt_out_list_id: Mapped[int] = mapped_column(ForeignKey("opt_out_list.opt_out_list_id"), primary_key=True)
    nhs_number: Mapped[str] = mapped_column(String(10), primary_key=True)


class LocalObjection(Base):
    """A local objection (type-1-like) or a consent directive, recorded for one person."""

    __tablename__ = "local_objection"
    __table_args__ = (Index("ix_local_objection_person", "person_id"),)

    local_objection_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(32))
    # type_1 (GP data not to leave the practice for secondary use) | consent_directive
    kind: Mapped[str] = mapped_column(String(30))
    # The purpose it applies to, or None for every secondary purpose.
    purpose: Mapped[str | None] = mapped_column(String(40))
    # consent_directive: the organisation the person declines sharing with.
    org_code: Mapped[str | None] = mapped_column(String(12))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    recorded_by: Mapped[str | None] = mapped_column(String(80))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DataSharingAgreement(Base):
    """A data-processing (inbound) or data-sharing (outbound) agreement: purpose, parties, fields, period."""

    __tablename__ = "data_sharing_agreement"

    agreement_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # processing (a source's data may come in) | sharing (data may leave)
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(40))
    # processing: the source id; sharing: the recipient organisation.
    party: Mapped[str] = mapped_column(String(80))
    legal_basis: Mapped[str | None] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSON)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    # day | month | year: how far dates are coarsened in what leaves.
    date_precision: Mapped[str] = mapped_column(String(8), default="month")
    # Pseudonyms stay the same across this agreement's requests (linkage) instead of per request.
    linkage_allowed_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    # active | suspended | ended
    status: Mapped[str] = mapped_column(String(12), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class DataRequest(Base):
    """A clinical panel's request for data: reviewed by the board, then extracted once approved."""

    __tablename__ = "data_request"

    data_request_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    requested_by: Mapped[str] = mapped_column(String(80))
    requester_org_code: Mapped[str | None] = mapped_column(String(12))
    purpose: Mapped[str] = mapped_column(String(40))
    legal_basis: Mapped[str] = mapped_column(String(200))
    agreement_id: Mapped[str] = mapped_column(ForeignKey("data_sharing_agreement.agreement_id"))
    # {"min_age": .., "max_age": .., "condition_codes": [...], "practice_codes": [...]}
    cohort: Mapped[dict[str, object]] = mapped_column(JSON)
    fields: Mapped[list[str]] = mapped_column(JSON)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # submitted | approved | rejected | extracted
    status: Mapped[str] = mapped_column(String(12), default="submitted")
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)


class DataRequestReview(Base):
    """A board member's comment or decision on a data request, kept for ever."""

    __tablename__ = "data_request_review"

    data_request_review_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    data_request_id: Mapped[int] = mapped_column(ForeignKey("data_request.data_request_id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(80))
    # comment | approve | reject
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class DataExtract(Base):
    """An extract produced for an approved request: where it went, what it held."""

    __tablename__ = "data_extract"

    data_extract_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    data_request_id: Mapped[int] = mapped_column(ForeignKey("data_request.data_request_id"), index=True)
    produced_by: Mapped[str] = mapped_column(String(80))
    produced_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    person_count: Mapped[int] = mapped_column(Integer)
    excluded_count: Mapped[int] = mapped_column(Integer)
    files: Mapped[dict[str, object]] = mapped_column(JSON)
