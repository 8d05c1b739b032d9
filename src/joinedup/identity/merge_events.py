"""Act on HL7 A40 merge messages: the feeds write an ``adt.merge`` outbox event naming the two
source patients; identity merges their persons, with the same safety control as a reviewer's merge.

A record merged before is not merged again without review: such a message lands in the review
queue for a person to decide, instead of being applied. Identity reads the outbox with its own
cursor (consumer ``identity``), so each message is acted on once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import Conflict, NotFound
from joinedup.identity.merge import merge_source_patients
from joinedup.store.tables import OutboxCursor, OutboxEvent
from joinedup.store.tables.identity_review import IdentityReviewItem

logger = logging.getLogger(__name__)

CONSUMER = "identity"
ACTOR = "system:feeds-a40"


@dataclass
class MergeEventsReport:
    """What one pass over the merge messages did."""

    read: int = 0
    merged: int = 0
    already_one_person: int = 0
    sent_to_review: int = 0
    not_linked_yet: int = 0


def apply_merge_events(session: Session, *, batch_size: int = 500) -> MergeEventsReport:
    """Merge the persons named by every ``adt.merge`` event not yet acted on; the caller commits."""
    report = MergeEventsReport()
    cursor = session.get(OutboxCursor, CONSUMER) or OutboxCursor(consumer=CONSUMER, last_outbox_event_id=0)
    session.add(cursor)
    while True:
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.outbox_event_id > cursor.last_outbox_event_id, OutboxEvent.kind == "adt.merge")
            .order_by(OutboxEvent.outbox_event_id)
            .limit(batch_size)
        ).all()
        if not events:
            break
        for event in events:
            _apply(session, event, report)
            cursor.last_outbox_event_id = event.outbox_event_id
        session.flush()
    return report


def _apply(session: Session, event: OutboxEvent, report: MergeEventsReport) -> None:
    report.read += 1
    surviving = event.source_patient_id
    retired = event.payload.get("other_source_patient_id")
    if surviving is None or not isinstance(retired, int):
        report.not_linked_yet += 1
        return
    try:
        result = merge_source_patients(session, surviving=surviving, retired=retired, actor=ACTOR,
                                       reason=f"HL7 A40 (outbox event {event.outbox_event_id})")
    except NotFound:
        report.not_linked_yet += 1
        logger.info("A40 of outbox event %d waits: a record is not linked yet", event.outbox_event_id)
        return
    except Conflict:
        session.add(IdentityReviewItem(
            source_patient_id=retired, candidate_source_patient_id=surviving, match_weight=0.0,
            match_probability=0.0, evidence="[]",
            explanation="An HL7 A40 asks to merge a record that was merged before: a reviewer must decide.",
        ))
        report.sent_to_review += 1
        return
    if result is None:
        report.already_one_person += 1
    else:
        report.merged += 1
