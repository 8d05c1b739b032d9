"""``/metrics`` for operators: Prometheus text with feed, quarantine, queue and latency figures."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from joinedup.store import make_engine, make_session_factory
from joinedup.store.tables import FeedMessage
from web.conftest import WebHome, sign_in


def test_an_administrator_reads_metrics_that_match_the_store(client: TestClient, web_home: WebHome) -> None:
    sign_in(client, "sysadmin")
    client.get("/")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    engine = make_engine(web_home.database_url)
    with make_session_factory(engine)() as session:
        query = select(FeedMessage.source, FeedMessage.status, func.count())
        grouped = session.execute(query.group_by(FeedMessage.source, FeedMessage.status))
        expected = {(source, status): count for source, status, count in grouped}
    engine.dispose()
    line = r'joinedup_feed_messages_total\{source="(?P<source>[^"]+)",status="(?P<status>[^"]+)"\} (?P<count>\d+)'
    reported = {(m["source"], m["status"]): int(m["count"]) for m in re.finditer(line, body)}
    assert expected, "the seeded home should hold feed messages"
    assert reported == expected
    assert re.search(r'joinedup_http_request_duration_seconds_count\{method="GET",route="/"\} [1-9]', body)
    assert "# TYPE joinedup_tasks_open gauge" in body


def test_metrics_are_refused_to_anonymous_callers_and_clinicians(client: TestClient) -> None:
    assert client.get("/metrics", follow_redirects=False).status_code in {401, 303}
    sign_in(client, "gp1")
    assert client.get("/metrics").status_code == 403
