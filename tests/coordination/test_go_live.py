"""A centre opening on loaded history reads only news from then on."""

from __future__ import annotations

from sqlalchemy.orm import Session

from joinedup.coordination import process_outbox
from joinedup.coordination.outbox import go_live_from_now
from joinedup.store.tables import OutboxEvent


def test_history_is_passed_over_and_new_events_are_read(session: Session) -> None:
    for _ in range(3):
        session.add(OutboxEvent(kind="feed.note", payload={}))
    session.flush()
    assert go_live_from_now(session) > 0
    assert process_outbox(session) == 0
    session.add(OutboxEvent(kind="feed.note", payload={}))
    session.flush()
    assert process_outbox(session) == 1
    assert go_live_from_now(session) == 0  # a centre already reading keeps its place
