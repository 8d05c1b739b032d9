"""Operators' metrics in the Prometheus text format: feeds, lag, queues and request latency.

Only counts and times by source, reason code, queue and route template: nothing about a patient.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.store.tables import FeedMessage, OutboxCursor, OutboxEvent, QuarantineItem, utc_now
from joinedup.store.tables.coordination import Task

# Upper bounds (seconds) of the request-duration histogram's buckets.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.15, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0)


@dataclass
class RequestMetrics:
    """Request counts and a latency histogram per (method, route template, status class)."""

    buckets: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0] * 11))
    sums: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    statuses: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request."""
        key = (method, route)
        with self.lock:
            counts = self.buckets[key]
            for index, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    counts[index] += 1
            counts[-1] += 1
            self.sums[key] += seconds
            self.statuses[(method, route, f"{status // 100}xx")] += 1

    def render(self) -> list[str]:
        """The histogram and status counts as Prometheus lines."""
        lines = ["# HELP joinedup_http_request_duration_seconds Time to answer a request, by route template.",
                 "# TYPE joinedup_http_request_duration_seconds histogram"]
        with self.lock:
            for (method, route), counts in sorted(self.buckets.items()):
                labels = f'method="{method}",route="{_escape(route)}"'
                for bound, count in zip(LATENCY_BUCKETS, counts, strict=False):
                    lines.append(f'joinedup_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {count}')
                lines.append(f'joinedup_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {counts[-1]}')
                lines.append(f"joinedup_http_request_duration_seconds_sum{{{labels}}} {self.sums[(method, route)]:.6f}")
                lines.append(f"joinedup_http_request_duration_seconds_count{{{labels}}} {counts[-1]}")
            lines += ["# HELP joinedup_http_requests_total Requests answered, by route template and status class.",
                      "# TYPE joinedup_http_requests_total counter"]
            for (method, route, status), count in sorted(self.statuses.items()):
                labels = f'method="{method}",route="{_escape(route)}",status="{status}"'
                lines.append(f"joinedup_http_requests_total{{{labels}}} {count}")
        return lines


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def store_metrics(session: Session) -> list[str]:
    """Feed, quarantine, lag and queue gauges read from the store, as Prometheus lines."""
    lines = ["# HELP joinedup_feed_messages_total Messages received, by source and outcome.",
             "# TYPE joinedup_feed_messages_total counter"]
    for source, status, count in session.execute(
        select(FeedMessage.source, FeedMessage.status, func.count()).group_by(FeedMessage.source, FeedMessage.status)
    ):
        lines.append(f'joinedup_feed_messages_total{{source="{_escape(source)}",status="{status}"}} {count}')
    lines += ["# HELP joinedup_quarantine_open Items waiting in quarantine, by source and reason code.",
              "# TYPE joinedup_quarantine_open gauge"]
    for source, reason, count in session.execute(
        select(QuarantineItem.source, QuarantineItem.reason_code, func.count())
        .where(QuarantineItem.status == "open").group_by(QuarantineItem.source, QuarantineItem.reason_code)
    ):
        lines.append(f'joinedup_quarantine_open{{source="{_escape(source)}",reason="{_escape(reason)}"}} {count}')
    lines += ["# HELP joinedup_ingest_lag_seconds Seconds since the last message from each source.",
              "# TYPE joinedup_ingest_lag_seconds gauge"]
    now = utc_now()
    for source, last in session.execute(
        select(FeedMessage.source, func.max(FeedMessage.received_at)).group_by(FeedMessage.source)
    ):
        if last is not None:
            last_at = last if last.tzinfo else last.replace(tzinfo=now.tzinfo)
            lag = (now - last_at).total_seconds()
            lines.append(f'joinedup_ingest_lag_seconds{{source="{_escape(source)}"}} {lag:.0f}')
    newest = session.scalar(select(func.max(OutboxEvent.outbox_event_id))) or 0
    lines += ["# HELP joinedup_outbox_backlog Events not yet read, by consumer.",
              "# TYPE joinedup_outbox_backlog gauge"]
    for consumer, last_read in session.execute(select(OutboxCursor.consumer, OutboxCursor.last_outbox_event_id)):
        lines.append(f'joinedup_outbox_backlog{{consumer="{_escape(consumer)}"}} {max(0, newest - last_read)}')
    lines += ["# HELP joinedup_tasks_open Open coordination tasks, by queue and whether overdue.",
              "# TYPE joinedup_tasks_open gauge"]
    for queue, overdue, count in session.execute(
        select(Task.queue_team_id, Task.due_at < now, func.count())
        .where(Task.status.in_(("requested", "in-progress"))).group_by(Task.queue_team_id, Task.due_at < now)
    ):
        lines.append(f'joinedup_tasks_open{{queue="{_escape(queue)}",overdue="{str(bool(overdue)).lower()}"}} {count}')
    return lines
