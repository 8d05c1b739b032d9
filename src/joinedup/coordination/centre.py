"""Setting up the coordination centre and running its unattended jobs.

``set_up_centre`` makes the centre's and the discharge service's teams and loads the service
directory (idempotent). ``run_centre_jobs`` is what the daily run or a scheduler calls every few
seconds: read the outbox (ADT news, telehealth readings), then escalate what is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from joinedup.coordination import bookings, discharge_support, merges, outbox, referrals, tasks
from joinedup.governance import ensure_team
from joinedup.model import Actor, system_actor


@dataclass(frozen=True)
class CentreSetUp:
    """What setting up the centre made or refreshed."""

    teams: tuple[str, ...]
    services: int


@dataclass(frozen=True)
class CentreRun:
    """What one run of the centre's jobs did."""

    outbox_events: int
    tasks_escalated: int
    steps_flagged: int


def set_up_centre(session: Session, *, actor: Actor | None = None, directory: Path | None = None) -> CentreSetUp:
    """Create the centre's teams (if missing) and load the service directory (default: the shipped one)."""
    actor = actor or system_actor("coordination-setup")
    ensure_team(session, team_id=referrals.CENTRE_TEAM_ID, name="Care coordination centre", kind="coordination_centre")
    ensure_team(
        session,
        team_id=discharge_support.DISCHARGE_TEAM_ID,
        name="Voluntary-sector discharge support",
        kind="discharge_service",
    )
    session.commit()
    count = bookings.load_service_directory(session, actor=actor, path=directory)
    return CentreSetUp(teams=(referrals.CENTRE_TEAM_ID, discharge_support.DISCHARGE_TEAM_ID), services=count)


def run_centre_jobs(session: Session, *, at: datetime | None = None) -> CentreRun:
    """Read new outbox events, follow person merges, then escalate overdue tasks and flag overdue steps."""
    events = outbox.process_outbox(session, at=at)
    # Merges made by a reviewer (not an A40 message) reach the centre here.
    merges.follow_merges(session)
    session.commit()
    report = tasks.escalate_overdue(session, at=at)
    return CentreRun(outbox_events=events, tasks_escalated=report.tasks_escalated, steps_flagged=report.steps_flagged)
