"""Integration status: counts per feed, last message, open quarantine by reason, outbox lag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied
from joinedup.record import integration_status
from joinedup.store.tables.governance import AuditEntry

from .seed import FEEDS_T0 as T0
from .seed import PRACTICE_ANN, actor, seed_feeds


def test_counts_last_message_and_quarantine(session: Session) -> None:
    seed_feeds(session)
    status = integration_status(session, actor=actor("system_administrator"))
    feeds = {feed.source: feed for feed in status.sources}
    assert sorted(feeds) == ["community", "gp", "hospital-pas"]
    pas = feeds["hospital-pas"]
    assert (pas.accepted_count, pas.quarantined_count, pas.files_done) == (2, 2, 1)
    assert pas.last_received_at == T0 + timedelta(minutes=2)
    assert pas.last_message_type == "ADT^A01"
    assert feeds["community"].quarantined_count == 1
    [reason] = status.quarantine
    assert (reason.source, reason.reason_code, reason.open_count) == ("hospital-pas", "nhs_number_check_digit", 2)
    assert [item.position for item in status.recent_quarantine][:3] == [None, "9", "3"]
    [lag] = status.consumers
    assert (lag.consumer, lag.waiting_count) == ("coordination", 2)


def test_only_engineers_see_it_and_it_is_audited(session: Session) -> None:
    gp = actor("gp", org=PRACTICE_ANN)
    with pytest.raises(AccessDenied):
        integration_status(session, actor=gp)
    outcomes = session.scalars(
        select(AuditEntry.outcome).where(AuditEntry.user_id == gp.user_id, AuditEntry.resource_type == "feed")
    ).all()
    assert outcomes == ["denied"]
