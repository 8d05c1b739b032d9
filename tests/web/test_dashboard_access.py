"""Population dashboards are secondary use: an access decision for planning, not just a signed-in user."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from joinedup.store import make_engine, make_session_factory
from joinedup.store.tables.governance import AuditEntry

from .conftest import WebHome


@pytest.mark.parametrize("username", ["ann", "admin1", "volunteer1"])
def test_roles_without_aggregates_in_the_policy_are_refused_the_dashboards(
    signed_in: Any, web_home: WebHome, username: str
) -> None:
    client = signed_in(username)
    for path in ("/dashboards", "/dashboards/emergency_admissions_per_1000?by=month"):
        assert client.get(path).status_code == 403, path
    sessions = make_session_factory(make_engine(web_home.database_url))
    with sessions() as session:
        refusals = session.scalars(
            select(AuditEntry).where(AuditEntry.resource_type == "aggregate", AuditEntry.outcome == "denied")
        ).all()
    assert refusals, "a refused dashboard leaves an audit entry"


@pytest.mark.parametrize("username", ["analyst1", "gp1"])
def test_analysts_and_gps_may_open_the_dashboards(signed_in: Any, username: str) -> None:
    assert signed_in(username).get("/dashboards").status_code == 200
