"""``joinedup risk train|report|score`` and ``joinedup cohort`` end to end on a home with a warehouse file."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import Result
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.governance import create_user
from joinedup.store import make_engine, make_session_factory, unit_of_work, upgrade_store
from joinedup.store.tables import Person, SourcePatient

from .borough import make_borough

PRACTICE = "P81002"


def run_joinedup(*args: str, home: Path) -> Result:
    """Run the command in this process (as the installed script would), with JOINEDUP_HOME set."""
    return CliRunner().invoke(app, list(args), env={"JOINEDUP_HOME": str(home), "COLUMNS": "200"})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with a 2,000-person warehouse, a store whose GP records name the practices, and a GP user."""
    folder = tmp_path_factory.mktemp("home")
    con = duckdb.connect(str(folder / "warehouse.duckdb"))
    make_borough(con, people=2000, seed=3)
    people = con.sql("select person_id, practice_code from core.person").fetchall()
    con.close()
    engine = make_engine(f"sqlite:///{folder / 'joinedup.sqlite'}")
    upgrade_store(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        session.add_all([Person(person_id=person_id) for person_id, _ in people])
        session.flush()
        session.add_all([
            SourcePatient(source="gp", local_id=person_id, person_id=person_id, registered_practice_code=practice)
            for person_id, practice in people
        ])
        create_user(session, username="dr.green", password="correct horse battery", role="gp", org_code=PRACTICE)
        create_user(session, username="ann.analyst", password="correct horse battery", role="analyst")
    engine.dispose()
    return folder


def test_train_report_score_and_cohort(home: Path) -> None:
    trained = run_joinedup("risk", "train", "--train-index", "2024-01-01", "--validate-index", "2025-01-01", home=home)
    assert trained.exit_code == 0, trained.output
    assert "lightgbm" in trained.stdout
    report = json.loads(run_joinedup("risk", "report", "--json", home=home).stdout)
    assert report["validation_index_date"] == "2025-01-01"
    assert report["validation"]["people"] == 2000
    assert {b["name"] for b in report["baselines"]} == {
        "logistic_regression", "prior_utilisation_count", "lace_last_discharge", "charlson_index",
        "naive_two_or_more_admissions",
    }
    assert (home / "models" / report["model_version"] / "card.md").exists()

    scored = run_joinedup("risk", "score", "--as-of", "2026-01-01", "--json", home=home)
    assert scored.exit_code == 0, scored.output
    summary = json.loads(scored.stdout)
    assert summary["people"] == 2000
    assert summary["by_band"]["very_high"] == 10

    listed = run_joinedup("cohort", "--practice", PRACTICE, "--top", "5", "--as", "dr.green", "--json", home=home)
    assert listed.exit_code == 0, listed.output
    cohort = json.loads(listed.stdout)
    scores = [entry["score"] for entry in cohort["entries"]]
    assert len(scores) == 5
    assert scores == sorted(scores, reverse=True)
    assert all(entry["reasons"] for entry in cohort["entries"])

    refused = run_joinedup("cohort", "--practice", PRACTICE, "--top", "5", "--as", "ann.analyst", home=home)
    assert refused.exit_code == 1
    assert "no care relationship" in refused.output


def test_report_before_training_says_what_to_do(tmp_path: Path) -> None:
    result = run_joinedup("risk", "report", home=tmp_path)
    assert result.exit_code == 1
    assert "joinedup risk train" in result.output
