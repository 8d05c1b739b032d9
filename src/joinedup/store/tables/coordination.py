"""The care coordination centre's working tables, and the voluntary-sector discharge service's.

Coordination (issue 9): who the centre is responsible for (``caseload_entry``), referrals in,
pathway instances and the record of each step, tasks on person or team queues, the service
directory with its daily capacity and the bookings made against it, care plans (FHIR CarePlan
shape, with telehealth thresholds), where each person is now (``person_location``, kept from ADT
news) and the flags shown on the board.

Discharge support (issue 10): a support case per person helped home, the patient passport, the
take-home / settle-in checklist, follow-up calls, Home from Hospital and experience surveys.

Every row names the linked person by ``person_id``; pathway definitions themselves are data files
(``joinedup/coordination/pathways/*.yaml``), and rows keep the pathway id *and version* they used.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.store.tables.base import Base, BigId, UtcDateTime, utc_now


class CaseloadEntry(Base):
    """A person the centre (or the discharge service) is responsible for, while ``ended_at`` is empty."""

    __tablename__ = "caseload_entry"
    __table_args__ = (Index("ix_caseload_entry_team_active", "team_id", "ended_at"),)

    caseload_entry_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    team_id: Mapped[str] = mapped_column(String(64))
    # The named care coordinator, when one is assigned.
    coordinator_user_id: Mapped[str | None] = mapped_column(String(64))
    neighbourhood: Mapped[str | None] = mapped_column(String(80))
    # referral | high_risk_admission | discharge_support
    reason: Mapped[str] = mapped_column(String(24))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Referral(Base):
    """A referral to the centre (FHIR ServiceRequest): by phone or electronically, then triaged."""

    __tablename__ = "referral"
    __table_args__ = (Index("ix_referral_status_received", "status", "received_at"),)

    referral_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    # phone | fhir | ward
    channel: Mapped[str] = mapped_column(String(12))
    # The sender's own id (ServiceRequest.id) for electronic referrals: makes intake idempotent.
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    referrer_org_code: Mapped[str | None] = mapped_column(String(12))
    referrer_name: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(400))
    # FHIR ServiceRequest.priority: routine | urgent | asap | stat
    urgency: Mapped[str] = mapped_column(String(8))
    suggested_pathway_id: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    # received | accepted | redirected | declined
    status: Mapped[str] = mapped_column(String(12), default="received")
    triage_reason: Mapped[str | None] = mapped_column(String(400))
    redirected_to: Mapped[str | None] = mapped_column(String(120))
    pathway_instance_id: Mapped[int | None] = mapped_column(ForeignKey("pathway_instance.pathway_instance_id"))
    received_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    triaged_by: Mapped[str | None] = mapped_column(String(64))
    triaged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PathwayInstance(Base):
    """One person on one pathway (a version of it), with the step they are at now."""

    __tablename__ = "pathway_instance"
    __table_args__ = (Index("ix_pathway_instance_status_due", "status", "current_step_due_at"),)

    pathway_instance_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    pathway_id: Mapped[str] = mapped_column(String(40))
    pathway_version: Mapped[int] = mapped_column(Integer)
    # active | paused (in hospital) | completed | stopped
    status: Mapped[str] = mapped_column(String(12), default="active")
    current_step_id: Mapped[str | None] = mapped_column(String(40))
    current_step_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_reason: Mapped[str | None] = mapped_column(String(200))
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PathwayStepRecord(Base):
    """What happened at one step of a pathway instance: started, due, done, skipped, and why."""

    __tablename__ = "pathway_step_record"

    pathway_step_record_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pathway_instance_id: Mapped[int] = mapped_column(
        ForeignKey("pathway_instance.pathway_instance_id"), index=True
    )
    step_id: Mapped[str] = mapped_column(String(40))
    # in_progress | completed | skipped
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(64))
    # The option chosen at a decision point.
    decision: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str | None] = mapped_column(String(400))
    # A departure from the pathway as written (skipped, done out of order, other service) and why.
    deviation: Mapped[str | None] = mapped_column(String(400))


class Service(Base):
    """A bookable service in the directory: clinic, diagnostics, transport, social care, voluntary."""

    __tablename__ = "service"

    service_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # clinic | diagnostics | transport | social_care | voluntary | community | gp
    kind: Mapped[str] = mapped_column(String(20), index=True)
    org_code: Mapped[str | None] = mapped_column(String(12))
    neighbourhood: Mapped[str | None] = mapped_column(String(80))
    # How many bookings it takes on one day.
    capacity_per_day: Mapped[int] = mapped_column(Integer)
    active_flag: Mapped[bool] = mapped_column(Boolean, default=True)


class Task(Base):
    """Work for a person or a team queue (FHIR Task): due, priority, escalated when overdue."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_status_due", "status", "due_at"),
        Index("ix_task_queue_status", "queue_team_id", "status"),
    )

    task_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    # book_outpatient | book_diagnostic | arrange_transport | social_care_assessment | phone_patient ...
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    queue_team_id: Mapped[str] = mapped_column(String(64))
    owner_user_id: Mapped[str | None] = mapped_column(String(64))
    # FHIR Task.priority: routine | urgent | asap | stat
    priority: Mapped[str] = mapped_column(String(8), default="routine")
    # requested | in-progress | completed | cancelled (FHIR Task.status)
    status: Mapped[str] = mapped_column(String(12), default="requested")
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Why the task exists: pathway_step | discharge_planning | post_discharge | telehealth_alert |
    # settle_in | follow_up_call | home_from_hospital | manual
    origin: Mapped[str] = mapped_column(String(24))
    pathway_instance_id: Mapped[int | None] = mapped_column(ForeignKey("pathway_instance.pathway_instance_id"))
    step_id: Mapped[str | None] = mapped_column(String(40))
    discharge_support_id: Mapped[int | None] = mapped_column(
        ForeignKey("discharge_support.discharge_support_id")
    )
    # Service kinds this task can be booked with (from the pathway step), comma separated.
    bookable_service_kinds: Mapped[str | None] = mapped_column(String(120))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(64))
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(64))


class Booking(Base):
    """A booking with a service in the directory, for a task; confirmed, moved or cancelled."""

    __tablename__ = "booking"
    __table_args__ = (Index("ix_booking_service_day", "service_id", "booked_date", "status"),)

    booking_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.service_id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.task_id"))
    booked_for_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The day the booking uses capacity on (the UTC date of booked_for_at).
    booked_date: Mapped[date] = mapped_column(Date)
    # confirmed | cancelled
    status: Mapped[str] = mapped_column(String(12), default="confirmed")
    move_count: Mapped[int] = mapped_column(Integer, default=0)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    booked_by: Mapped[str] = mapped_column(String(64))
    booked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)


class CarePlan(Base):
    """A care plan (FHIR CarePlan shape): goals, actions and who does them, what matters to me."""

    __tablename__ = "care_plan"

    care_plan_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # draft | active | completed | revoked (FHIR CarePlan.status)
    status: Mapped[str] = mapped_column(String(12), default="active")
    pathway_instance_id: Mapped[int | None] = mapped_column(ForeignKey("pathway_instance.pathway_instance_id"))
    what_matters_to_me: Mapped[str | None] = mapped_column(Text)
    # [{description, target, due_date, status}]
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{description, responsible, status}]
    activities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Telehealth thresholds: [{code, kind: rise_within_days | above | below, amount, days, unit}]
    thresholds: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    care_team: Mapped[list[str]] = mapped_column(JSON, default=list)
    review_date: Mapped[date | None] = mapped_column(Date)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)


class PersonLocation(Base):
    """Where a person is now, kept from ADT news: home, A&E, admitted (ward), community bed, care home."""

    __tablename__ = "person_location"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), primary_key=True)
    # home | ae | admitted | community_bed | care_home
    place: Mapped[str] = mapped_column(String(16))
    ward: Mapped[str | None] = mapped_column(String(80))
    org_code: Mapped[str | None] = mapped_column(String(12))
    since_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The spell or attendance id (PV1-19) the place belongs to, so a cancel can undo it.
    visit_id: Mapped[str | None] = mapped_column(String(80))
    previous_place: Mapped[str | None] = mapped_column(String(16))
    previous_since_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # LACE index worked out at the last discharge (when the risk package can), for the board.
    lace_score: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)


class BoardFlag(Base):
    """A flag on the board (admitted, overdue step, new high-risk, alert) until it is cleared."""

    __tablename__ = "board_flag"
    __table_args__ = (Index("ix_board_flag_person_open", "person_id", "cleared_at"),)

    board_flag_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"))
    # admitted | overdue_step | new_high_risk | alert
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(200))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DischargeSupport(Base):
    """One person helped (or considered for help) home by the voluntary-sector discharge service."""

    __tablename__ = "discharge_support"
    __table_args__ = (Index("ix_discharge_support_status", "status"),)

    discharge_support_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    team_id: Mapped[str] = mapped_column(String(64))
    # worklist | direct_referral
    route: Mapped[str] = mapped_column(String(16))
    # suggested | not_suitable | confirmed | home | closed
    status: Mapped[str] = mapped_column(String(14))
    # Why the worklist suggested the person: [age_75_plus, frailty_moderate, lives_alone, ...]
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # ae | admitted: where the person was when identified; the visit (PV1-19) it was.
    setting: Mapped[str | None] = mapped_column(String(12))
    visit_id: Mapped[str | None] = mapped_column(String(80))
    identified_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    not_suitable_reason: Mapped[str | None] = mapped_column(String(200))
    # When the decision to send home was made, and when the person was home.
    decision_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    home_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(200))


class PatientPassport(Base):
    """A short person-centred record the person agrees to, kept by them and the volunteer."""

    __tablename__ = "patient_passport"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), primary_key=True)
    consent_given_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    what_happened: Mapped[str | None] = mapped_column(Text)
    how_to_address_me: Mapped[str | None] = mapped_column(String(120))
    who_matters: Mapped[str | None] = mapped_column(Text)
    food_and_drink: Mapped[str | None] = mapped_column(Text)
    communication_needs: Mapped[str | None] = mapped_column(Text)
    mobility_aids: Mapped[str | None] = mapped_column(String(200))
    key_safe: Mapped[str | None] = mapped_column(String(200))
    pets: Mapped[str | None] = mapped_column(String(200))
    worries: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)


class SettleInCheck(Base):
    """One item of the take-home and settle-in checklist; an unmet item raises a task."""

    __tablename__ = "settle_in_check"

    settle_in_check_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    discharge_support_id: Mapped[int] = mapped_column(
        ForeignKey("discharge_support.discharge_support_id"), index=True
    )
    # home_warm_and_safe | food_in | medicines_in_hand | mobility_aids | information_pack | key_contacts
    item: Mapped[str] = mapped_column(String(24))
    met_flag: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(400))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.task_id"))
    checked_by: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class FollowUpCall(Base):
    """A follow-up call after getting home (day 1, day 2, retries) with its outcome."""

    __tablename__ = "follow_up_call"
    __table_args__ = (Index("ix_follow_up_call_due", "outcome", "due_at"),)

    follow_up_call_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    discharge_support_id: Mapped[int] = mapped_column(
        ForeignKey("discharge_support.discharge_support_id"), index=True
    )
    day_number: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    made_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # None until made; fine | needs_help | unreachable
    outcome: Mapped[str | None] = mapped_column(String(12))
    notes: Mapped[str | None] = mapped_column(Text)
    made_by: Mapped[str | None] = mapped_column(String(64))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.task_id"))


class HomeFromHospital(Base):
    """Up to six weeks of Home from Hospital support: planned contacts, goals, end date, outcome."""

    __tablename__ = "home_from_hospital"

    home_from_hospital_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    discharge_support_id: Mapped[int] = mapped_column(
        ForeignKey("discharge_support.discharge_support_id"), index=True
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    goals: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{on: date, kind: visit|call, purpose}]
    planned_contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # open | completed | ended_early
    status: Mapped[str] = mapped_column(String(12), default="open")
    outcome: Mapped[str | None] = mapped_column(String(400))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    referred_by: Mapped[str] = mapped_column(String(64))
    referred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ExperienceSurvey(Base):
    """A patient experience answer (Friends and Family Test + free text), or a recorded decline."""

    __tablename__ = "experience_survey"
    __table_args__ = (Index("ix_experience_survey_service_at", "service", "recorded_at"),)

    experience_survey_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    # discharge_support | pathway:<pathway_id>
    service: Mapped[str] = mapped_column(String(48))
    # discharge_home | pathway_milestone | home_from_hospital_end
    milestone: Mapped[str] = mapped_column(String(24))
    # sms | phone | web
    channel: Mapped[str] = mapped_column(String(8))
    declined_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    # FFT: 1 very good, 2 good, 3 neither, 4 poor, 5 very poor, 6 don't know
    fft_answer: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
