"""Feed bookkeeping: every message received, the quarantine, processed files, and the outbox.

``feed_message`` makes ingestion idempotent: a (source, source message id) pair is stored once.
``quarantine_item`` keeps bad input whole with the stage and a specific reason, for fix and replay.
``outbox_event`` carries news upward (an admission, a discharge, a telehealth reading) for the
coordination centre to act on, written in the same transaction as the record change it reports.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.store.tables.base import Base, BigId, UtcDateTime, utc_now


class FeedMessage(Base):
    """One message (or extract row, or bundle) received from a source, once."""

    __tablename__ = "feed_message"
    __table_args__ = (
        UniqueConstraint("source", "source_message_id"),
        Index("ix_feed_message_received_at", "received_at"),
    )

    feed_message_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    source_message_id: Mapped[str] = mapped_column(String(120))
    # fhir | hl7v2 | csv:<layout> | telehealth
    format: Mapped[str] = mapped_column(String(40))
    content_sha256: Mapped[str] = mapped_column(String(64))
    file_path: Mapped[str | None] = mapped_column(String(400))
    position: Mapped[str | None] = mapped_column(String(40))
    # What the message's own header says it is, e.g. ADT^A01.
    message_type: Mapped[str | None] = mapped_column(String(20))
    # accepted | quarantined
    status: Mapped[str] = mapped_column(String(12))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    # When the event happened at the source (MSH-7, bundle timestamp): orders late messages.
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class QuarantineItem(Base):
    """Input that could not be accepted, kept whole with why, until it is fixed and replayed."""

    __tablename__ = "quarantine_item"
    __table_args__ = (Index("ix_quarantine_item_status_reason", "status", "reason_code"),)

    quarantine_item_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    source_message_id: Mapped[str | None] = mapped_column(String(120))
    format: Mapped[str] = mapped_column(String(40))
    file_path: Mapped[str | None] = mapped_column(String(400))
    position: Mapped[str | None] = mapped_column(String(40))
    # parse | map | validate | identity | store
    stage: Mapped[str] = mapped_column(String(12))
    # A stable code for counting (nhs_number_check_digit, malformed_segment...) and the full reason.
    reason_code: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    # open | replayed | discarded
    status: Mapped[str] = mapped_column(String(12), default="open")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class IngestedFile(Base):
    """A feed file taken in: lets daily runs skip what was done and resume what was not."""

    __tablename__ = "ingested_file"
    __table_args__ = (UniqueConstraint("source", "file_path"),)

    ingested_file_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    file_path: Mapped[str] = mapped_column(String(400))
    content_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigId)
    # Items already committed from this file: a resumed run starts after them.
    committed_count: Mapped[int] = mapped_column(Integer, default=0)
    # in_progress | done
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OutboxEvent(Base):
    """News for higher layers (admission, discharge, transfer, telehealth reading), in order."""

    __tablename__ = "outbox_event"
    __table_args__ = (Index("ix_outbox_event_kind", "kind"),)

    outbox_event_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # adt.admit | adt.transfer | adt.discharge | adt.attend | adt.merge | telehealth.reading | ...
    kind: Mapped[str] = mapped_column(String(40))
    source_patient_id: Mapped[int | None] = mapped_column()
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class OutboxCursor(Base):
    """How far each consumer has read the outbox."""

    __tablename__ = "outbox_cursor"

    consumer: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_outbox_event_id: Mapped[int] = mapped_column(BigId, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
