"""``joinedup link`` on a home: link, re-run (stable), evaluate against a truth file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.identity import check_nhs_number
from joinedup.store import make_engine, make_session_factory, upgrade_store
from joinedup.store.tables.identity import SourcePatient

# (source, local_id, NHS number, given, family, date of birth, postcode, true person)
RECORDS = [
    ("gp", "g1", "9434765919", "ANN", "SMITH", date(1950, 3, 4), "LS1 1AA", "P1"),
    ("pas", "m1", "9434765919", "ANN", "SMITH", date(1950, 3, 4), "LS1 1AA", "P1"),
    ("social_care", "s1", None, "ANN", "SMYTH", date(1950, 3, 4), "LS1 1AA", "P1"),
    ("gp", "g2", "9000000009", "JOE", "BLOGGS", date(1971, 9, 1), "LS2 8ZZ", "P2"),
    ("community", "c2", "9999999999", "JOE", "BLOGGS", date(1971, 9, 1), "LS2 8ZZ", "P2"),
    ("gp", "g3", "9000000025", "SUE", "BROWN", date(1962, 1, 1), "LS8 1AA", "P3"),
    ("gp", "g4", "9000000033", "RAJ", "PATEL", date(1988, 11, 30), "LS7 4DE", "P4"),
    ("gp", "g5", "5900046192", "MIA", "WRIGHT", date(2001, 6, 14), "LS9 7QT", "P5"),
    ("gp", "g6", "5900056597", "LEO", "KHAN", date(1999, 2, 2), "LS6 3EE", "P6"),
    ("gp", "g7", "5900057208", "IVY", "CHEN", date(1940, 8, 8), "LS12 3NP", "P7"),
    ("gp", "g8", "5900059073", "TOM", "NOWAK", date(1966, 5, 5), "LS11 5TW", "P8"),
    ("gp", "g9", "5900059332", "EVA", "BYRNE", date(1977, 7, 7), "LS4 2AB", "P9"),
]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A joinedup home whose store holds the records above, none linked yet."""
    folder = tmp_path / "home"
    folder.mkdir()
    engine = make_engine(f"sqlite:///{folder / 'joinedup.sqlite'}")
    upgrade_store(engine)
    rows = []
    for source, local_id, nhs, given, family, born, postcode, _ in RECORDS:
        check = check_nhs_number(nhs)
        rows.append(
            {"source": source, "local_id": local_id, "nhs_number_given": nhs, "nhs_number": check.normalised,
             "nhs_number_status": check.status, "given_name": given, "family_name": family, "birth_date": born,
             "postcode": postcode}
        )
    with make_session_factory(engine)() as session:
        session.execute(insert(SourcePatient), rows)
        session.commit()
    engine.dispose()
    truth = tmp_path / "truth"
    truth.mkdir()
    lines = ["source,local_id,true_person_id"] + [f"{r[0]},{r[1]},{r[7]}" for r in RECORDS]
    (truth / "source_records.csv").write_text("\n".join(lines) + "\n")
    return folder


def _run(home: Path, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["link", "--json", *args], env={"JOINEDUP_HOME": str(home)})
    assert result.exit_code == 0, result.output
    figures: dict[str, object] = json.loads(result.output)
    return figures


def _persons(home: Path) -> dict[str, str | None]:
    engine = make_engine(f"sqlite:///{home / 'joinedup.sqlite'}")
    with engine.connect() as connection:
        found = dict(connection.execute(select(SourcePatient.local_id, SourcePatient.person_id)).all())
    engine.dispose()
    return found


def test_link_then_rerun_then_evaluate(home: Path) -> None:
    first = _run(home)
    assert first["trained"] is True
    assert (first["source_patients"], first["unlinked"]) == (12, 0)
    assert (home / "identity" / "linkage_model.json").exists()
    before = _persons(home)
    assert before["g1"] == before["m1"]
    assert before["g2"] != before["g3"]

    again = _run(home, "--evaluate", str(home.parent / "truth"))
    assert again["trained"] is False
    assert _persons(home) == before
    evaluation = again["evaluation"]
    assert isinstance(evaluation, dict)
    assert (evaluation["records"], evaluation["true_persons"], evaluation["true_pairs"]) == (12, 9, 4)
    assert evaluation["persons_over_merged"] == 0
    assert evaluation["precision"] == 1.0
