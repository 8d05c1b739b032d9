"""PostgreSQL restarted while requests run: they fail cleanly with a retryable 503, then recover alone.

Uses a throw-away cluster of its own (``throwaway_pg.py``), never the shared server on 5432.
"""

from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path

import pytest

from joinedup.governance import create_user
from joinedup.governance.totp import totp_code
from joinedup.governance.users import enrol_totp
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory, unit_of_work, upgrade_store
from joinedup.web import create_app

from .throwaway_pg import ThrowawayPostgres, available

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.skipif(not available(), reason="PostgreSQL 15 binaries (initdb, pg_ctl) not installed")


def test_requests_get_503_while_the_database_restarts_and_recover_by_themselves(tmp_path: Path) -> None:
    postgres = ThrowawayPostgres()
    try:
        postgres.start()
        settings = load_settings(home=tmp_path, database_url=postgres.url)
        engine = make_engine(settings.resolved_database_url)
        upgrade_store(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            create_user(session, username="gp9", password="a-long-enough-passphrase", role="gp", org_code="P00001")
            secret = enrol_totp(session, username="gp9")
        engine.dispose()
        app = create_app(settings)
        with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
            token = client.post("/auth/token", data={"username": "gp9", "password": "a-long-enough-passphrase",
                                                     "scope": "user/*.read", "totp": totp_code(secret)}
                                ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            assert client.get("/patients", headers=headers).status_code == 200
            seen: list[tuple[float, int, str]] = []
            running = threading.Event()
            running.set()

            def load() -> None:
                while running.is_set():
                    response = client.get("/patients", headers=headers)
                    seen.append((time.monotonic(), response.status_code, response.headers.get("retry-after", "")))
                    time.sleep(0.02)

            worker = threading.Thread(target=load)
            worker.start()
            time.sleep(0.5)
            postgres.stop()
            time.sleep(2.0)
            restarted = time.monotonic()
            postgres.start()
            time.sleep(3.0)
            running.clear()
            worker.join(30)
        statuses = [status for _, status, _ in seen]
        assert set(statuses) <= {200, 503}, f"unclean failures: {sorted(set(statuses))}"
        assert 503 in statuses, "the outage was not noticed"
        assert all(retry for _, status, retry in seen if status == 503), "a 503 without Retry-After"
        # Recovered by itself: every request from one second after the restart succeeded.
        assert {status for at, status, _ in seen if at > restarted + 1.0} == {200}
    finally:
        postgres.close()
