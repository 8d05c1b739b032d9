"""What the coordination centre's services take and give: request and public schemas.

Store rows never leave a service; these are what routes, the CLI and tests see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Urgency = Literal["routine", "urgent", "asap", "stat"]
Place = Literal["home", "ae", "admitted", "community_bed", "care_home"]
FlagKind = Literal["admitted", "overdue_step", "new_high_risk", "alert"]


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


# --- patients -----------------------------------------------------------------------------------


class PatientMatch(_Public):
    """One person found by the referral form's patient search."""

    person_id: str
    nhs_number: str | None
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    registered_practice_code: str | None


# --- referrals ----------------------------------------------------------------------------------


class ReferralCreate(_Schema):
    """The quick phone form: the patient, why, how urgent, the pathway suggested, notes."""

    person_id: str
    reason: str = Field(min_length=3, max_length=400)
    urgency: Urgency = "routine"
    suggested_pathway_id: str | None = None
    notes: str | None = Field(default=None, max_length=4000)
    referrer_org_code: str | None = None
    referrer_name: str | None = Field(default=None, max_length=120)


class TriageDecision(_Schema):
    """Accept (onto a pathway), redirect (to another service) or decline, with a reason."""

    outcome: Literal["accept", "redirect", "decline"]
    reason: str = Field(min_length=3, max_length=400)
    pathway_id: str | None = None
    redirected_to: str | None = Field(default=None, max_length=120)
    coordinator_user_id: str | None = None


class ReferralPublic(_Public):
    """A referral as the centre sees it."""

    referral_id: int
    person_id: str
    channel: str
    external_id: str | None
    reason: str
    urgency: str
    suggested_pathway_id: str | None
    notes: str | None
    status: str
    triage_reason: str | None
    redirected_to: str | None
    pathway_instance_id: int | None
    received_at: datetime
    triaged_at: datetime | None


# --- pathways, tasks, bookings ------------------------------------------------------------------


class StepRecordPublic(_Public):
    """What happened at one step of a person's pathway."""

    step_id: str
    status: str
    started_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    decision: str | None
    outcome: str | None
    deviation: str | None


class PathwayInstancePublic(_Public):
    """A person on a pathway: where they are on it, what is done, what is overdue."""

    pathway_instance_id: int
    person_id: str
    pathway_id: str
    pathway_version: int
    status: str
    current_step_id: str | None
    current_step_due_at: datetime | None
    started_at: datetime
    ended_at: datetime | None
    overdue_flag: bool = False
    steps: tuple[StepRecordPublic, ...] = ()


class TaskCreate(_Schema):
    """A task raised by hand."""

    person_id: str
    kind: str = "manual"
    title: str = Field(min_length=3, max_length=200)
    queue_team_id: str
    owner_user_id: str | None = None
    priority: Urgency = "routine"
    due_at: datetime


class TaskPublic(_Public):
    """A task on a queue."""

    task_id: int
    person_id: str
    kind: str
    title: str
    queue_team_id: str
    owner_user_id: str | None
    priority: str
    status: str
    due_at: datetime
    origin: str
    pathway_instance_id: int | None
    step_id: str | None
    discharge_support_id: int | None
    bookable_service_kinds: str | None
    escalation_level: int
    escalated_at: datetime | None
    outcome: str | None
    created_at: datetime
    completed_at: datetime | None


class ServiceCreate(_Schema):
    """A service in the directory."""

    service_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")
    name: str
    kind: str
    org_code: str | None = None
    neighbourhood: str | None = None
    capacity_per_day: int = Field(gt=0)


class ServicePublic(_Public):
    """A service in the directory."""

    service_id: str
    name: str
    kind: str
    org_code: str | None
    neighbourhood: str | None
    capacity_per_day: int


class BookingPublic(_Public):
    """A booking with a service."""

    booking_id: int
    person_id: str
    service_id: str
    task_id: int | None
    booked_for_at: datetime
    status: str
    move_count: int
    cancel_reason: str | None


# --- care plans ---------------------------------------------------------------------------------


class Goal(_Schema):
    """A goal in a care plan."""

    description: str
    target: str | None = None
    due_date: date | None = None
    status: Literal["proposed", "active", "achieved", "cancelled"] = "active"


class Activity(_Schema):
    """An action in a care plan and who is responsible for it."""

    description: str
    responsible: str | None = None
    status: Literal["not-started", "scheduled", "in-progress", "completed", "cancelled"] = "not-started"


class Threshold(_Schema):
    """A telehealth threshold for this person (overrides their pathway's defaults)."""

    codes: tuple[str, ...] = Field(min_length=1)
    kind: Literal["rise_within_days", "above", "below"]
    amount: float
    days: int | None = None
    unit: str
    label: str


class CarePlanCreate(_Schema):
    """A new care plan (or a new version of one)."""

    person_id: str
    title: str
    what_matters_to_me: str | None = None
    goals: tuple[Goal, ...] = ()
    activities: tuple[Activity, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    care_team: tuple[str, ...] = ()
    review_date: date | None = None
    pathway_instance_id: int | None = None


class CarePlanPublic(_Public):
    """A care plan as shared with the care team."""

    care_plan_id: int
    person_id: str
    title: str
    status: str
    what_matters_to_me: str | None
    goals: tuple[Goal, ...]
    activities: tuple[Activity, ...]
    thresholds: tuple[Threshold, ...]
    care_team: tuple[str, ...]
    review_date: date | None
    pathway_instance_id: int | None
    created_at: datetime
    updated_at: datetime


# --- the board ----------------------------------------------------------------------------------


class BoardFilters(_Schema):
    """What the board is filtered by (all optional)."""

    coordinator_user_id: str | None = None
    neighbourhood: str | None = None
    pathway_id: str | None = None
    flag: FlagKind | None = None


@dataclass(frozen=True, slots=True)
class BoardRow:
    """One person on the board: where they are, pathway and step, risk, flags, next action.

    A plain dataclass, not a pydantic model: the board builds 2,000 of them per view.
    """

    person_id: str
    given_name: str | None
    family_name: str | None
    nhs_number: str | None
    neighbourhood: str | None
    coordinator_user_id: str | None
    # home | ae | admitted | community_bed | care_home
    place: str
    ward: str | None
    place_since_at: datetime | None
    pathway_id: str | None
    step_id: str | None
    step_due_at: datetime | None
    risk_band: str | None
    lace_score: int | None
    flags: tuple[str, ...]
    next_action: str | None
    next_action_due_at: datetime | None
    next_action_owner: str | None
