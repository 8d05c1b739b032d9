"""Integration status for engineers: what each feed sent, when, and what was quarantined and why.

Read from the feeds' bookkeeping (``feed_message``, ``ingested_file``, ``quarantine_item``,
``outbox_event``/``outbox_cursor``). Raw payloads are never returned: a quarantined item is shown
by its source, file, position, stage and reason. No person is involved, so the access decision is
about the resource ``feed`` (no person); until the access policy names that resource, the roles
in ``INTEGRATION_ROLES`` are allowed and the read is audited all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup import governance
from joinedup.errors import AccessDenied, InvalidInput
from joinedup.model import Actor
from joinedup.store.tables import FeedMessage, IngestedFile, OutboxCursor, OutboxEvent, QuarantineItem

INTEGRATION_ROLES = frozenset({"system_administrator", "system"})
RECENT_QUARANTINE = 25


@dataclass(frozen=True)
class SourceStatus:
    """One feed: messages accepted and quarantined, the last one received, files taken in."""

    source: str
    formats: tuple[str, ...]
    accepted_count: int
    quarantined_count: int
    last_received_at: datetime | None
    last_event_at: datetime | None
    last_message_type: str | None
    files_done: int
    files_in_progress: int


@dataclass(frozen=True)
class QuarantineReason:
    """Open quarantine of one source grouped by stage and reason code."""

    source: str
    stage: str
    reason_code: str
    open_count: int
    latest_at: datetime | None
    example_reason: str


@dataclass(frozen=True)
class QuarantinedItem:
    """One quarantined item, without its raw content."""

    quarantine_item_id: int
    source: str
    format: str
    file_path: str | None
    position: str | None
    stage: str
    reason_code: str
    reason: str
    status: str
    received_at: datetime | None


@dataclass(frozen=True)
class ConsumerLag:
    """How far a consumer of the outbox is behind."""

    consumer: str
    last_outbox_event_id: int
    waiting_count: int


@dataclass(frozen=True)
class IntegrationStatus:
    """The whole picture for the integration page."""

    sources: tuple[SourceStatus, ...]
    quarantine: tuple[QuarantineReason, ...]
    recent_quarantine: tuple[QuarantinedItem, ...]
    consumers: tuple[ConsumerLag, ...]
    newest_outbox_event_id: int


def _authorise_feed_status(session: Session, actor: Actor) -> None:
    try:
        governance.authorise(session, actor=actor, person_id=None, resource_type="feed", detail="integration status")
    except InvalidInput:
        # The policy does not know "feed" yet: allow the integration roles, audit either way.
        allowed = actor.role in INTEGRATION_ROLES
        governance.record_audit(
            session,
            actor=actor,
            action="read",
            resource_type="feed",
            detail="integration status",
            basis="integration role" if allowed else "role may not read feed status",
            outcome="allowed" if allowed else "denied",
        )
        if not allowed:
            session.commit()
            raise AccessDenied("only system administrators may see the integration status") from None


@dataclass
class _Tally:
    """Counts for one source while the grouped rows are read."""

    formats: set[str] = field(default_factory=set)
    accepted: int = 0
    received: list[datetime] = field(default_factory=list)
    sent: list[datetime] = field(default_factory=list)

    def add(self, fmt: str, status: str, count: int, received: datetime | None, sent: datetime | None) -> None:
        self.formats.add(fmt)
        if status == "accepted":
            self.accepted += count
        if received is not None:
            self.received.append(received)
        if sent is not None:
            self.sent.append(sent)


def integration_status(session: Session, *, actor: Actor) -> IntegrationStatus:
    """Feeds, their last messages, open quarantine by reason, and outbox lag.

    Raises:
        AccessDenied: the actor may not see feed status.
    """
    _authorise_feed_status(session, actor)
    tallies: dict[str, _Tally] = {}
    for source, fmt, status, count, last_received, last_sent in session.execute(
        select(
            FeedMessage.source,
            FeedMessage.format,
            FeedMessage.status,
            func.count(),
            func.max(FeedMessage.received_at),
            func.max(FeedMessage.sent_at),
        ).group_by(FeedMessage.source, FeedMessage.format, FeedMessage.status)
    ):
        tallies.setdefault(source, _Tally()).add(fmt, status, count, last_received, last_sent)
    quarantined_by_source: dict[str, int] = {
        source: count
        for source, count in session.execute(
            select(QuarantineItem.source, func.count()).group_by(QuarantineItem.source)
        )
        if count
    }
    files: dict[str, dict[str, int]] = {}
    for source, status, count in session.execute(
        select(IngestedFile.source, IngestedFile.status, func.count()).group_by(
            IngestedFile.source, IngestedFile.status
        )
    ):
        files.setdefault(source, {})[status] = count
    last_types = _last_message_types(session)
    sources = []
    for source in sorted(set(tallies) | set(files) | set(quarantined_by_source)):
        tally = tallies.get(source, _Tally())
        sources.append(
            SourceStatus(
                source=source,
                formats=tuple(sorted(tally.formats)),
                accepted_count=tally.accepted,
                quarantined_count=quarantined_by_source.get(source, 0),
                last_received_at=max(tally.received) if tally.received else None,
                last_event_at=max(tally.sent) if tally.sent else None,
                last_message_type=last_types.get(source),
                files_done=files.get(source, {}).get("done", 0),
                files_in_progress=files.get(source, {}).get("in_progress", 0),
            )
        )
    return IntegrationStatus(
        sources=tuple(sources),
        quarantine=_quarantine_reasons(session),
        recent_quarantine=_recent_quarantine(session),
        consumers=_consumer_lag(session),
        newest_outbox_event_id=session.scalar(select(func.max(OutboxEvent.outbox_event_id))) or 0,
    )


def _last_message_types(session: Session) -> dict[str, str | None]:
    newest = (
        select(FeedMessage.source, func.max(FeedMessage.feed_message_id).label("newest"))
        .group_by(FeedMessage.source)
        .subquery()
    )
    rows = session.execute(
        select(FeedMessage.source, FeedMessage.message_type).join(
            newest, newest.c.newest == FeedMessage.feed_message_id
        )
    )
    return {row.source: row.message_type for row in rows}


def _quarantine_reasons(session: Session) -> tuple[QuarantineReason, ...]:
    groups = session.execute(
        select(
            QuarantineItem.source,
            QuarantineItem.stage,
            QuarantineItem.reason_code,
            func.count(),
            func.max(QuarantineItem.received_at),
            func.max(QuarantineItem.quarantine_item_id),
        )
        .where(QuarantineItem.status == "open")
        .group_by(QuarantineItem.source, QuarantineItem.stage, QuarantineItem.reason_code)
        .order_by(func.count().desc())
    ).all()
    examples: dict[int, str] = {
        row.quarantine_item_id: row.reason
        for row in session.execute(
            select(QuarantineItem.quarantine_item_id, QuarantineItem.reason).where(
                QuarantineItem.quarantine_item_id.in_([row[5] for row in groups])
            )
        )
    }
    return tuple(
        QuarantineReason(
            source=source,
            stage=stage,
            reason_code=reason_code,
            open_count=count,
            latest_at=latest,
            example_reason=examples.get(example_id, ""),
        )
        for source, stage, reason_code, count, latest, example_id in groups
    )


def _recent_quarantine(session: Session) -> tuple[QuarantinedItem, ...]:
    rows = session.execute(
        select(
            QuarantineItem.quarantine_item_id,
            QuarantineItem.source,
            QuarantineItem.format,
            QuarantineItem.file_path,
            QuarantineItem.position,
            QuarantineItem.stage,
            QuarantineItem.reason_code,
            QuarantineItem.reason,
            QuarantineItem.status,
            QuarantineItem.received_at,
        )
        .order_by(QuarantineItem.quarantine_item_id.desc())
        .limit(RECENT_QUARANTINE)
    )
    return tuple(QuarantinedItem(**row._asdict()) for row in rows)


def _consumer_lag(session: Session) -> tuple[ConsumerLag, ...]:
    lags = []
    for cursor in session.scalars(select(OutboxCursor).order_by(OutboxCursor.consumer)):
        waiting = session.scalar(
            select(func.count()).select_from(OutboxEvent).where(
                OutboxEvent.outbox_event_id > cursor.last_outbox_event_id
            )
        )
        lags.append(ConsumerLag(cursor.consumer, cursor.last_outbox_event_id, waiting or 0))
    return tuple(lags)
