"""``joinedup warehouse build`` and ``joinedup report`` end to end on a home holding the borough."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from warehouse_borough import NHS_NUMBERS, OPTED_OUT, write_borough

from joinedup.cli import app
from joinedup.governance import load_cleaned_list
from joinedup.store import make_engine, make_session_factory, upgrade_store
from joinedup.warehouse.optouts import WAREHOUSE_PURPOSE


def test_build_then_report_by_practice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{(home / 'joinedup.sqlite').resolve()}")
    upgrade_store(engine)
    sessions = make_session_factory(engine)
    cleaned = tmp_path / "cleaned-list-2024-12-15.csv"
    cleaned.write_text(
        "nhs_number\n" + "\n".join(n for p, n in sorted(NHS_NUMBERS.items()) if p not in OPTED_OUT) + "\n"
    )
    with sessions() as session:
        write_borough(session)
        load_cleaned_list(session, cleaned, WAREHOUSE_PURPOSE)
        session.commit()
    engine.dispose()
    monkeypatch.setenv("JOINEDUP_HOME", str(home))
    runner = CliRunner()

    built = runner.invoke(app, ["warehouse", "build", "--as-of", "2024-12-31", "--json"])
    assert built.exit_code == 0, built.output
    report = json.loads(built.stdout)
    assert (report["mode"], report["secondary_use_person_count"], report["opted_out_person_count"]) == ("full", 5, 1)

    answered = runner.invoke(app, ["report", "emergency_admissions_per_1000", "--by", "practice", "--json"])
    assert answered.exit_code == 0, answered.output
    document = json.loads(answered.stdout)
    rows = {row["area"]: row for row in document["rows"]}
    # P1's 4 admissions and P2's 30 person-months are small numbers: suppressed before they leave.
    assert rows["P1"] == {"area": "P1", "numerator": None, "denominator": None, "value": None, "suppressed_flag": True}
    assert rows["P2"]["suppressed_flag"] is False
    assert (rows["P2"]["numerator"], rows["P2"]["denominator"], rows["P2"]["value"]) == (0, 30, 0.0)

    unknown = runner.invoke(app, ["report", "nonsense", "--json"])
    assert unknown.exit_code == 1
