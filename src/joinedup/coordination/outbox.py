"""The centre reacting to news: ADT admissions, transfers, discharges and telehealth readings.

``process_outbox`` reads ``outbox_event`` after the consumer ``coordination``'s cursor, in order,
and for each event:

- keeps where the person is now (``person_location``: A&E, admitted ward since when, home, care
  home, community bed), undoing a cancelled admission or discharge;
- on an admission of someone on the centre's caseload, on a pathway, or in a high-risk band:
  flags the board, pauses their pathways and starts the discharge-planning tasks (contact the
  ward, expected date of discharge, what is needed at home);
- on their discharge: clears the flag, starts the post-discharge pathway (call within 48 hours,
  GP review), resumes their pathways, and works out the LACE index when the risk package can;
- on an A&E attendance or admission of anybody: screens them for voluntary-sector discharge support;
- on a telehealth reading: raises an alert task when the person's thresholds are breached.

Each batch and the cursor move commit together, so a crash re-reads at most one batch, and a
batch is never applied twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination import _work, discharge_support, merges, population, telehealth_alerts
from joinedup.coordination.pathway_instances import start_on_pathway
from joinedup.coordination.referrals import CENTRE_TEAM_ID, join_caseload
from joinedup.governance import grant_relationship, record_audit
from joinedup.model import system_actor
from joinedup.store.tables import Encounter, OutboxCursor, OutboxEvent, utc_now
from joinedup.store.tables.coordination import CaseloadEntry, PathwayInstance, PersonLocation, Task

logger = logging.getLogger(__name__)

CONSUMER = "coordination"
ACTOR = system_actor("coordination")
POST_DISCHARGE_PATHWAY = "post-discharge"
DIED_DESTINATIONS = ("79", "20", "died")

# The discharge-planning task set started on admission: (kind, title, due after hours, priority).
DISCHARGE_PLANNING_TASKS = (
    ("contact_ward", "Contact the ward: introduce the centre, share the care plan and pathway", 24, "urgent"),
    ("expected_discharge_date", "Agree the expected date of discharge with the ward", 48, "urgent"),
    ("needs_at_home", "Find out what is needed at home (equipment, care package, transport, medicines)", 72, "routine"),
)
# Discharge destinations (NHS Data Dictionary codes, HL7 v2 table 0112 dispositions, words).
DESTINATION_PLACES = {
    "54": "care_home",
    "65": "care_home",
    "85": "care_home",
    "03": "care_home",
    "04": "care_home",
    "51": "community_bed",
    "02": "community_bed",
    "care_home": "care_home",
    "nursing_home": "care_home",
    "residential_home": "care_home",
    "community_hospital": "community_bed",
    "community_bed": "community_bed",
    "intermediate_care": "community_bed",
}


def go_live_from_now(session: Session) -> int:
    """Start a new centre reading only news that arrives from now on.

    A centre that opens on top of years of loaded history should not raise discharge tasks for
    admissions long past: the history stays in the record, the cursor moves to the newest event.
    Does nothing when the centre has read events before. Returns the events passed over.
    """
    if session.get(OutboxCursor, CONSUMER) is not None:
        return 0
    newest = session.scalar(select(OutboxEvent.outbox_event_id).order_by(OutboxEvent.outbox_event_id.desc()).limit(1))
    session.add(OutboxCursor(consumer=CONSUMER, last_outbox_event_id=newest or 0))
    session.flush()
    return newest or 0


def process_outbox(session: Session, *, batch_size: int = 500, at: datetime | None = None) -> int:
    """Act on every outbox event not yet seen by the centre; returns how many were read.

    Args:
        at: the time the centre acts (defaults to now); tasks' due times count from the event's
            own time when it has one.
    """
    total = 0
    while True:
        # Locked (PostgreSQL) so two runs at once never act on the same events twice.
        cursor = session.get(OutboxCursor, CONSUMER, with_for_update=True)
        after = cursor.last_outbox_event_id if cursor is not None else 0
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.outbox_event_id > after)
            .order_by(OutboxEvent.outbox_event_id)
            .limit(batch_size)
        ).all()
        if not events:
            break
        acted = 0
        for event in events:
            acted += int(_handle(session, event, at=at or utc_now()))
        if cursor is None:
            cursor = OutboxCursor(consumer=CONSUMER, last_outbox_event_id=0)
            session.add(cursor)
        cursor.last_outbox_event_id = events[-1].outbox_event_id
        cursor.updated_at = utc_now()
        record_audit(
            session,
            actor=ACTOR,
            action="write",
            resource_type="task",
            detail=f"outbox events {events[0].outbox_event_id}-{events[-1].outbox_event_id}: "
            f"{len(events)} read, {acted} acted on",
            basis="system",
        )
        session.commit()
        total += len(events)
        logger.info("coordination read %d outbox events (%d acted on)", len(events), acted)
    return total


def _handle(session: Session, event: OutboxEvent, *, at: datetime) -> bool:
    payload: dict[str, Any] = dict(event.payload or {})
    if event.kind == "adt.merge":
        # Identity has merged (or will merge) the persons; move whatever is merged already.
        return merges.follow_merges(session) > 0
    _visit_from_encounter(session, payload)
    source_patient_id = event.source_patient_id or _int(payload.get("source_patient_id"))
    person_id = population.person_for_source_patient(session, source_patient_id)
    if person_id is None:
        logger.debug("outbox event %d: patient not linked yet; skipped", event.outbox_event_id)
        return False
    when = event.occurred_at or _time(payload, "occurred_at", "admitted_at", "discharged_at", "measured_at") or at
    kind = event.kind
    if kind == "adt.attend":
        _move(session, person_id, place="ae", payload=payload, when=when)
        discharge_support.suggest_from_adt(
            session, person_id=person_id, setting="ae", visit_id=_visit(payload), at=when
        )
        return True
    if kind == "adt.admit":
        _move(session, person_id, place="admitted", payload=payload, when=when)
        _on_admission(session, person_id, payload=payload, when=when)
        discharge_support.suggest_from_adt(
            session, person_id=person_id, setting="admitted", visit_id=_visit(payload), at=when
        )
        return True
    if kind == "adt.transfer":
        location = session.get(PersonLocation, person_id)
        if location is not None and location.place == "admitted":
            location.ward = _text(payload, "ward", "location") or location.ward
            return True
        # First news of this stay is a transfer: the stay began when the record's admission did.
        since = population.admitted_since(session, person_id) or when
        _move(session, person_id, place="admitted", payload=payload, when=since)
        return True
    if kind == "adt.discharge":
        destination = (_text(payload, "discharge_destination", "destination") or "").lower()
        if destination in DIED_DESTINATIONS:
            _on_death(session, person_id, when=when)
            return True
        _move(session, person_id, place=DESTINATION_PLACES.get(destination, "home"), payload=payload, when=when)
        _on_discharge(session, person_id, payload=payload, when=when)
        return True
    if kind == "adt.cancel":
        return _on_cancel(session, person_id, payload=payload, when=when)
    if kind == "telehealth.reading":
        value = payload.get("value")
        code = _text(payload, "code")
        if value is None or code is None:
            return False
        reading = telehealth_alerts.Reading(
            person_id=person_id,
            code=code,
            value=float(value),
            unit=_text(payload, "unit"),
            measured_at=_time(payload, "measured_at") or when,
            reading_id=_text(payload, "reading_id"),
        )
        return bool(telehealth_alerts.raise_alerts(session, reading, actor_id=ACTOR.user_id, at=at))
    return False


def _move(session: Session, person_id: str, *, place: str, payload: dict[str, Any], when: datetime) -> None:
    location = session.get(PersonLocation, person_id)
    if location is None:
        location = PersonLocation(person_id=person_id, place=place, since_at=when)
        session.add(location)
    else:
        location.previous_place, location.previous_since_at = location.place, location.since_at
        location.place, location.since_at = place, when
    location.ward = _text(payload, "ward", "location") if place in ("admitted", "ae", "community_bed") else None
    location.org_code = _text(payload, "org_code", "trust_code") or location.org_code
    location.visit_id = _visit(payload) or location.visit_id
    session.flush()


def _responsible(session: Session, person_id: str) -> bool:
    """Whether the centre acts on this person's admission: on its caseload, a pathway, or high risk."""
    on_caseload = session.scalar(
        select(CaseloadEntry.caseload_entry_id).where(
            CaseloadEntry.person_id == person_id, CaseloadEntry.ended_at.is_(None)
        )
    )
    on_pathway = session.scalar(
        select(PathwayInstance.pathway_instance_id).where(
            PathwayInstance.person_id == person_id, PathwayInstance.status.in_(("active", "paused"))
        )
    )
    if on_caseload is not None or on_pathway is not None:
        return True
    if population.is_high_risk(session, person_id):
        # A high-risk person admitted becomes the centre's to coordinate home.
        grant_relationship(
            session, person_id=person_id, team_id=CENTRE_TEAM_ID, kind="coordination", granted_by=ACTOR.user_id
        )
        join_caseload(session, person_id=person_id, team_id=CENTRE_TEAM_ID, reason="high_risk_admission", at=utc_now())
        return True
    return False


def _on_admission(session: Session, person_id: str, *, payload: dict[str, Any], when: datetime) -> None:
    if not _responsible(session, person_id):
        return
    ward = _text(payload, "ward", "location")
    _work.raise_flag(session, person_id=person_id, kind="admitted", detail=f"admitted {ward or ''}".strip(), at=when)
    for instance in session.scalars(
        select(PathwayInstance).where(PathwayInstance.person_id == person_id, PathwayInstance.status == "active")
    ):
        instance.status = "paused"
        instance.paused_reason = "admitted to hospital"
        instance.paused_at = when
    already = session.scalar(
        select(Task.task_id).where(
            Task.person_id == person_id,
            Task.origin == "discharge_planning",
            Task.status.in_(_work.OPEN_TASK_STATUSES),
        )
    )
    if already is not None:
        return
    for kind, title, hours, priority in DISCHARGE_PLANNING_TASKS:
        _work.raise_task(
            session,
            person_id=person_id,
            kind=kind,
            title=title,
            queue_team_id=CENTRE_TEAM_ID,
            due_at=when + timedelta(hours=hours),
            origin="discharge_planning",
            created_by=ACTOR.user_id,
            at=when,
            priority=priority,
        )


def _on_discharge(session: Session, person_id: str, *, payload: dict[str, Any], when: datetime) -> None:
    was_flagged = _work.clear_flags(session, person_id=person_id, kind="admitted", at=when) > 0
    for task in session.scalars(
        select(Task).where(
            Task.person_id == person_id,
            Task.origin == "discharge_planning",
            Task.status.in_(_work.OPEN_TASK_STATUSES),
        )
    ):
        task.status = "cancelled"
        task.outcome = "person discharged"
        task.completed_at = when
    paused = session.scalars(
        select(PathwayInstance).where(PathwayInstance.person_id == person_id, PathwayInstance.status == "paused")
    ).all()
    if not was_flagged and not paused:
        return
    for instance in paused:
        _resume(instance, when)
    already = session.scalar(
        select(PathwayInstance.pathway_instance_id).where(
            PathwayInstance.person_id == person_id,
            PathwayInstance.pathway_id == POST_DISCHARGE_PATHWAY,
            PathwayInstance.status == "active",
        )
    )
    if already is None:
        start_on_pathway(
            session, person_id=person_id, pathway_id=POST_DISCHARGE_PATHWAY, at=when, actor_id=ACTOR.user_id
        )
    location = session.get(PersonLocation, person_id)
    if location is not None:
        location.lace_score = _lace(payload) or population.lace_for_stay(
            session, person_id, admitted_at=location.previous_since_at, discharged_at=when
        )


def _on_death(session: Session, person_id: str, *, when: datetime) -> None:
    """The person died in hospital: stop their pathways and open work, take them off the caseload."""
    _work.clear_flags(session, person_id=person_id, kind="admitted", at=when)
    for task in session.scalars(
        select(Task).where(Task.person_id == person_id, Task.status.in_(_work.OPEN_TASK_STATUSES))
    ):
        task.status = "cancelled"
        task.outcome = "person died"
        task.completed_at = when
    for instance in session.scalars(
        select(PathwayInstance).where(
            PathwayInstance.person_id == person_id, PathwayInstance.status.in_(("active", "paused"))
        )
    ):
        instance.status = "stopped"
        instance.ended_at = when
    for entry in session.scalars(
        select(CaseloadEntry).where(CaseloadEntry.person_id == person_id, CaseloadEntry.ended_at.is_(None))
    ):
        entry.ended_at = when
    location = session.get(PersonLocation, person_id)
    if location is not None:
        session.delete(location)


def _on_cancel(session: Session, person_id: str, *, payload: dict[str, Any], when: datetime) -> bool:
    # The feeds send the HL7 trigger (A11 cancels an admit or attendance, A13 a discharge).
    cancels = (_text(payload, "cancels", "cancelled_kind", "event") or "").lower()
    location = session.get(PersonLocation, person_id)
    if location is None:
        return False
    if cancels in ("adt.admit", "a11", "admit"):
        location.place = location.previous_place or "home"
        location.since_at = location.previous_since_at or when
        location.ward = None
        _work.clear_flags(session, person_id=person_id, kind="admitted", at=when)
        for task in session.scalars(
            select(Task).where(
                Task.person_id == person_id,
                Task.origin == "discharge_planning",
                Task.status.in_(_work.OPEN_TASK_STATUSES),
            )
        ):
            task.status = "cancelled"
            task.outcome = "admission cancelled"
            task.completed_at = when
        for instance in session.scalars(
            select(PathwayInstance).where(PathwayInstance.person_id == person_id, PathwayInstance.status == "paused")
        ):
            _resume(instance, when)
        return True
    if cancels in ("adt.discharge", "a13", "discharge"):
        location.place = "admitted"
        location.since_at = location.previous_since_at or when
        _work.raise_flag(session, person_id=person_id, kind="admitted", detail="discharge cancelled", at=when)
        return True
    return False


def _resume(instance: PathwayInstance, when: datetime) -> None:
    """Resume a paused pathway; its current step's due date moves on by the time spent in hospital."""
    if instance.paused_at is not None and instance.current_step_due_at is not None:
        instance.current_step_due_at += max(when - instance.paused_at, timedelta(0))
    instance.status = "active"
    instance.paused_reason = None
    instance.paused_at = None


def _lace(payload: dict[str, Any]) -> int | None:
    value = payload.get("lace_score")
    return int(value) if isinstance(value, int | float) else None


def _visit_from_encounter(session: Session, payload: dict[str, Any]) -> None:
    """The feeds send the stored encounter's id; the spell/attendance id (PV1-19) is its source id."""
    encounter_id = payload.get("encounter_id")
    if isinstance(encounter_id, int) and "visit_id" not in payload:
        visit = session.scalar(select(Encounter.source_record_id).where(Encounter.encounter_id == encounter_id))
        if visit is not None:
            payload["visit_id"] = visit


def _visit(payload: dict[str, Any]) -> str | None:
    key = payload.get("encounter_key")
    if isinstance(key, list | tuple) and len(key) == 2 and key[1]:
        return str(key[1])
    return _text(payload, "visit_id", "spell_id", "attendance_id", "visit_number", "encounter_source_record_id")


def _text(payload: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = payload.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _time(payload: dict[str, Any], *names: str) -> datetime | None:
    for name in names:
        value = payload.get(name)
        if isinstance(value, str) and value:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if parsed.tzinfo is None:
                from datetime import UTC

                parsed = parsed.replace(tzinfo=UTC)
            return parsed
    return None
