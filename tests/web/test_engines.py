"""The web stack on each engine: a GP reads the record page and $everything on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from joinedup.governance import create_user
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory, unit_of_work
from joinedup.web import create_app
from record.seed import ANN, PRACTICE_ANN, seed_record

from .conftest import PASSWORD, TestClient, sign_in


def test_record_page_and_everything_on_each_engine(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        seed_record(session)
        create_user(session, username="gp1", password=PASSWORD, role="gp", org_code=PRACTICE_ANN)
    app = create_app(load_settings(home=tmp_path / "home", database_url=database_url), sessions=sessions)
    with TestClient(app, base_url="https://testserver") as client:
        assert sign_in(client, "gp1").status_code == 303
        page = client.get(f"/patients/{ANN}")
        assert page.status_code == 200
        assert page.text.count("Metformin 500mg tablets") == 1
        bundle = client.get(f"/fhir/Patient/{ANN}/$everything").json()
        assert bundle["total"] == 39
    engine.dispose()
