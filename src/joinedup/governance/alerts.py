"""Unusual access, spotted in the audit trail and raised to the information-governance officer.

Two rules, run by the daily job (``joinedup audit scan``): a user who opened the records of many
different people in a short window (trawling), and a user refused many times (probing). Alerts
name the user and the counts, never a patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import AuditEntry, IgAlert


@dataclass(frozen=True)
class UnusualAccessRule:
    """Thresholds for raising an alert within one window."""

    window: timedelta = timedelta(hours=1)
    distinct_people: int = 50
    refusals: int = 10


def scan_for_unusual_access(
    session: Session, *, since: datetime | None = None, rule: UnusualAccessRule | None = None
) -> int:
    """Raise an ``unusual_access`` alert per user over a threshold in the window ending now.

    A user already alerted for the same window is not alerted again.

    Returns:
        How many alerts were raised.
    """
    rule = rule or UnusualAccessRule()
    now = utc_now()
    start = since or now - rule.window
    in_window = AuditEntry.occurred_at >= start
    people = session.execute(
        select(AuditEntry.user_id, AuditEntry.username, func.count(func.distinct(AuditEntry.person_id)))
        .where(
            in_window, AuditEntry.person_id.is_not(None), AuditEntry.outcome == "allowed", AuditEntry.role != "system"
        )
        .group_by(AuditEntry.user_id, AuditEntry.username)
        .having(func.count(func.distinct(AuditEntry.person_id)) >= rule.distinct_people)
    ).all()
    refusals = session.execute(
        select(AuditEntry.user_id, AuditEntry.username, func.count())
        .where(in_window, AuditEntry.outcome.in_(("denied", "not_found")))
        .group_by(AuditEntry.user_id, AuditEntry.username)
        .having(func.count() >= rule.refusals)
    ).all()
    findings = [
        (user_id, f"{username} opened the records of {count} different people since {start:%Y-%m-%d %H:%M} UTC")
        for user_id, username, count in people
    ] + [
        (user_id, f"{username} was refused {count} times since {start:%Y-%m-%d %H:%M} UTC")
        for user_id, username, count in refusals
    ]
    raised = 0
    for user_id, summary in findings:
        already = session.scalar(
            select(IgAlert.ig_alert_id).where(
                IgAlert.kind == "unusual_access", IgAlert.user_id == user_id, IgAlert.raised_at >= start
            )
        )
        if already is None:
            session.add(IgAlert(kind="unusual_access", user_id=user_id, summary=summary, status="open"))
            raised += 1
    session.flush()
    return raised
