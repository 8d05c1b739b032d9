"""Workforce planning's tables: care workers, and day plans of home visits with their status."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.store.tables.base import Base, BigId, UtcDateTime, utc_now


class CareWorkerRow(Base):
    """A member of a neighbourhood team: role, competencies, base and working minutes."""

    __tablename__ = "care_worker"

    worker_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(40))
    competencies: Mapped[list[str]] = mapped_column(JSON)
    neighbourhood: Mapped[str] = mapped_column(String(80), index=True)
    base_postcode: Mapped[str] = mapped_column(String(10))
    minutes_per_day: Mapped[int] = mapped_column(Integer)
    # The sign-in name of the worker's joinedup account, so they can see their own day.
    username: Mapped[str | None] = mapped_column(String(80))


class VisitPlanRow(Base):
    """A neighbourhood's plan of home visits for one day: draft → accepted → published."""

    __tablename__ = "visit_plan"
    __table_args__ = (Index("ix_visit_plan_neighbourhood_day", "neighbourhood", "plan_date"),)

    visit_plan_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    neighbourhood: Mapped[str] = mapped_column(String(80))
    plan_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    visits_before: Mapped[int] = mapped_column(Integer)
    visits_after: Mapped[int] = mapped_column(Integer)
    minutes_before: Mapped[int] = mapped_column(Integer)
    minutes_after: Mapped[int] = mapped_column(Integer)
    unassigned: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PlannedVisitRow(Base):
    """One visit of a plan: which worker sees which person, when, and for what."""

    __tablename__ = "planned_visit"

    planned_visit_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    visit_plan_id: Mapped[int] = mapped_column(ForeignKey("visit_plan.visit_plan_id"), index=True)
    worker_id: Mapped[str] = mapped_column(ForeignKey("care_worker.worker_id"))
    person_id: Mapped[str] = mapped_column(String(32))
    # Where the visit is (the person's home), for routing and the worker's day sheet.
    postcode: Mapped[str] = mapped_column(String(10))
    sequence: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    travel_minutes: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    # The interventions done on this visit: [{"due_id", "intervention_id"}].
    interventions: Mapped[list[dict[str, str]]] = mapped_column(JSON)
