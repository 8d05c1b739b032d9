"""Bookings against the directory of services: capacity per day; confirm, move, cancel.

A booking is made for a task whose pathway step lists the service's kind; confirming it completes
the task (and so may move the pathway on). Cancelling puts the task back on its queue to rebook.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.coordination import tasks as task_service
from joinedup.coordination.errors import CapacityFull, CoordinationInputError, StateConflict
from joinedup.coordination.schemas import BookingPublic, ServiceCreate, ServicePublic
from joinedup.errors import NotFound
from joinedup.governance import authorise, record_audit
from joinedup.model import Actor
from joinedup.store.tables import utc_now
from joinedup.store.tables.coordination import Booking, Service, Task

logger = logging.getLogger(__name__)

SERVICE_DIRECTORY = Path(__file__).parent / "service_directory.yaml"


def add_service(session: Session, *, actor: Actor, request: ServiceCreate) -> ServicePublic:
    """Add (or update) a service in the directory."""
    record_audit(session, actor=actor, action="write", resource_type="booking", detail=f"service {request.service_id}")
    service = session.get(Service, request.service_id) or Service(service_id=request.service_id)
    service.name = request.name
    service.kind = request.kind
    service.org_code = request.org_code
    service.neighbourhood = request.neighbourhood
    service.capacity_per_day = request.capacity_per_day
    service.active_flag = True
    session.add(service)
    session.commit()
    return ServicePublic.model_validate(service)


def load_service_directory(session: Session, *, actor: Actor, path: Path | None = None) -> int:
    """Add or update every service in a directory file (YAML ``services:`` list); returns how many.

    Raises:
        CoordinationInputError: the file is not a valid directory (the message names the entry).
    """
    path = path or SERVICE_DIRECTORY
    try:
        entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("services", [])
    except (OSError, yaml.YAMLError) as exc:
        raise CoordinationInputError(f"service directory {path.name} cannot be read: {exc}") from exc
    for position, entry in enumerate(entries):
        try:
            request = ServiceCreate.model_validate(entry)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors(include_input=False))
            raise CoordinationInputError(f"service directory {path.name}, entry {position}: {fields}") from exc
        add_service(session, actor=actor, request=request)
    return len(entries)


def list_services(session: Session, *, kind: str | None = None) -> list[ServicePublic]:
    """The active services in the directory (of one kind), by name."""
    query = select(Service).where(Service.active_flag.is_(True)).order_by(Service.kind, Service.name)
    if kind:
        query = query.where(Service.kind == kind)
    return [ServicePublic.model_validate(service) for service in session.scalars(query)]


def services_with_capacity(
    session: Session, *, kinds: tuple[str, ...] | None = None, on: date, neighbourhood: str | None = None
) -> list[tuple[ServicePublic, int]]:
    """Services (of the given kinds) with the places still free on a day, most free first."""
    used = (
        select(Booking.service_id, func.count().label("used"))
        .where(Booking.booked_date == on, Booking.status == "confirmed")
        .group_by(Booking.service_id)
        .subquery()
    )
    query = (
        select(Service, func.coalesce(used.c.used, 0))
        .outerjoin(used, used.c.service_id == Service.service_id)
        .where(Service.active_flag.is_(True))
    )
    if kinds:
        query = query.where(Service.kind.in_(kinds))
    if neighbourhood:
        query = query.where(Service.neighbourhood == neighbourhood)
    result = [
        (ServicePublic.model_validate(service), service.capacity_per_day - taken)
        for service, taken in session.execute(query)
    ]
    return sorted(
        [(service, free) for service, free in result if free > 0], key=lambda pair: (-pair[1], pair[0].service_id)
    )


def book(
    session: Session,
    *,
    actor: Actor,
    task_id: int,
    service_id: str,
    booked_for_at: datetime,
    at: datetime | None = None,
) -> BookingPublic:
    """Book a service for a task: checks the service suits the task and has a place that day.

    Raises:
        CoordinationInputError: the task's step cannot be booked with that kind of service.
        CapacityFull: the service is full that day.
    """
    at = at or utc_now()
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    authorise(session, actor=actor, person_id=task.person_id, resource_type="booking", action="write")
    service = _service(session, service_id)
    kinds = (task.bookable_service_kinds or "").split(",")
    if service.kind not in kinds:
        bookable = ", ".join(filter(None, kinds)) or "none"
        raise CoordinationInputError(
            f"task {task_id} cannot be booked with a {service.kind} service (bookable: {bookable})"
        )
    day = booked_for_at.astimezone(UTC).date()
    _check_capacity(session, service, day)
    booking = Booking(
        person_id=task.person_id,
        service_id=service_id,
        task_id=task_id,
        booked_for_at=booked_for_at,
        booked_date=day,
        status="confirmed",
        booked_by=actor.user_id,
        booked_at=at,
    )
    session.add(booking)
    session.flush()
    outcome = f"booked with {service_id} (booking {booking.booking_id})"
    task_service.close_task(session, task=task, outcome=outcome, at=at, actor_id=actor.user_id)
    session.commit()
    logger.info("booking %d confirmed for task %d", booking.booking_id, task_id)
    return BookingPublic.model_validate(booking)


def move_booking(
    session: Session, *, actor: Actor, booking_id: int, booked_for_at: datetime, at: datetime | None = None
) -> BookingPublic:
    """Move a booking to another time (capacity checked on the new day)."""
    booking = _booking(session, booking_id)
    authorise(session, actor=actor, person_id=booking.person_id, resource_type="booking", action="write")
    if booking.status != "confirmed":
        raise StateConflict(f"booking {booking_id} is {booking.status}")
    day = booked_for_at.astimezone(UTC).date()
    if day != booking.booked_date:
        _check_capacity(session, _service(session, booking.service_id), day)
    booking.booked_for_at = booked_for_at
    booking.booked_date = day
    booking.move_count += 1
    booking.updated_at = at or utc_now()
    session.commit()
    return BookingPublic.model_validate(booking)


def cancel_booking(
    session: Session, *, actor: Actor, booking_id: int, reason: str, at: datetime | None = None
) -> BookingPublic:
    """Cancel a booking; its task goes back on the queue to be booked again."""
    booking = _booking(session, booking_id)
    authorise(session, actor=actor, person_id=booking.person_id, resource_type="booking", action="write")
    if booking.status != "confirmed":
        raise StateConflict(f"booking {booking_id} is {booking.status}")
    booking.status = "cancelled"
    booking.cancel_reason = reason
    booking.updated_at = at or utc_now()
    task = session.get(Task, booking.task_id) if booking.task_id else None
    if task is not None and task.status == "completed":
        task.status = "requested"
        task.outcome = f"booking {booking_id} cancelled: rebook"
        task.completed_at = None
        task.completed_by = None
    session.commit()
    return BookingPublic.model_validate(booking)


def bookings_for_person(session: Session, *, actor: Actor, person_id: str) -> list[BookingPublic]:
    """A person's bookings, soonest first."""
    authorise(session, actor=actor, person_id=person_id, resource_type="booking", action="read")
    rows = session.scalars(select(Booking).where(Booking.person_id == person_id).order_by(Booking.booked_for_at))
    result = [BookingPublic.model_validate(row) for row in rows]
    session.commit()
    return result


def _check_capacity(session: Session, service: Service, day: date) -> None:
    taken = session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(Booking.service_id == service.service_id, Booking.booked_date == day, Booking.status == "confirmed")
    )
    if (taken or 0) >= service.capacity_per_day:
        raise CapacityFull(
            f"service {service.service_id} is full on {day.isoformat()} ({service.capacity_per_day} places)"
        )


def _service(session: Session, service_id: str) -> Service:
    service = session.get(Service, service_id)
    if service is None or not service.active_flag:
        raise NotFound(f"no active service {service_id!r} in the directory")
    return service


def _booking(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"no booking {booking_id}")
    return booking
