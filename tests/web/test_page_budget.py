"""A record page costs one database connection and a bounded number of statements.

The machine-independent guard on the page's speed (timings under load are in
``benchmarks/bench_web_load.py``): the signed-in user is loaded in the request's own session
(not a second one), access to every section is one batched decision, each section one query.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from record.seed import ANN

from .conftest import sign_in

# The user and their teams (2), the decision and its audit (4), the sections (17): 23 today.
PAGE_STATEMENT_BUDGET = 25


@contextmanager
def _database_use(engine: Engine) -> Iterator[dict[str, int]]:
    used = {"connections": 0, "statements": 0}

    def checkout(*_: Any) -> None:
        used["connections"] += 1

    def statement(*_: Any) -> None:
        used["statements"] += 1

    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield used
    finally:
        event.remove(engine.pool, "checkout", checkout)
        event.remove(engine, "before_cursor_execute", statement)


def test_the_record_page_uses_one_connection_and_a_bounded_number_of_statements(
    app: FastAPI, client: TestClient
) -> None:
    assert sign_in(client, "gp1").status_code == 303
    engine = app.state.sessions.kw["bind"]
    assert client.get(f"/patients/{ANN}").status_code == 200  # warm (templates compiled)

    with _database_use(engine) as used:
        page = client.get(f"/patients/{ANN}")

    assert page.status_code == 200
    assert "Type 2 diabetes mellitus" in page.text
    assert used["connections"] == 1
    assert used["statements"] <= PAGE_STATEMENT_BUDGET
