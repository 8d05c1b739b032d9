"""Finding a person: NHS number or name with date of birth, each match through governance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from joinedup.errors import InvalidInput
from joinedup.record import search_patients
from joinedup.store.tables.governance import AuditEntry
from joinedup.store.tables.identity import Person, SourcePatient

from .seed import ANN, BOB, BOB_NHS, PRACTICE_ANN, SAM_NHS, actor, seed_record


@pytest.fixture
def seeded(session: Session) -> Session:
    seed_record(session)
    return session


def test_by_nhs_number_with_spaces(seeded: Session) -> None:
    session = seeded
    [match] = search_patients(session, actor=actor("gp", org=PRACTICE_ANN), nhs_number="943 476 5919")
    assert (match.person_id, match.allowed, match.family_name, match.birth_date) == (
        ANN, True, "Example", date(1948, 3, 2)
    )
    assert match.registered_practice_name == "Riverside Surgery"
    assert match.source_count == 4


def test_by_name_and_birth_date(seeded: Session) -> None:
    for name in ("Ann Example", "example", "EXAMPLE, Ann"):
        matches = search_patients(seeded, actor=actor("gp", org=PRACTICE_ANN), name=name, birth_date=date(1948, 3, 2))
        assert [m.person_id for m in matches] == [ANN], name


def test_wrong_birth_date_finds_nobody_and_is_audited(seeded: Session) -> None:
    session = seeded
    gp = actor("gp", org=PRACTICE_ANN)
    assert search_patients(session, actor=gp, name="Ann Example", birth_date=date(1948, 3, 3)) == []
    details = session.scalars(select(AuditEntry.detail).where(AuditEntry.user_id == gp.user_id)).all()
    assert details == ["by name_and_birth_date: no match"]


@pytest.mark.parametrize(
    "criteria", [{"name": "Example"}, {"birth_date": date(1948, 3, 2)}, {}, {"nhs_number": "12345"}]
)
def test_a_name_alone_or_a_bad_number_is_refused(criteria: dict[str, object]) -> None:
    # Refused before any query: an unbound session is never touched.
    with pytest.raises(InvalidInput):
        search_patients(Session(), actor=actor("gp", org=PRACTICE_ANN), **criteria)  # type: ignore[arg-type]


def test_a_match_without_relationship_shows_no_demographics(seeded: Session) -> None:
    session = seeded
    [match] = search_patients(session, actor=actor("gp", org=PRACTICE_ANN), nhs_number=BOB_NHS)
    assert (match.person_id, match.allowed) == (BOB, False)
    assert match.family_name is None
    assert match.birth_date is None
    assert match.nhs_number is None
    assert match.refusal is not None
    assert "break-glass" in match.refusal
    outcomes = session.scalars(select(AuditEntry.outcome).where(AuditEntry.person_id == BOB)).all()
    assert outcomes == ["denied"]


def test_a_sensitive_person_is_not_revealed(seeded: Session) -> None:
    assert search_patients(seeded, actor=actor("gp", org=PRACTICE_ANN), nhs_number=SAM_NHS) == []


def _search_statements(session: Session, run: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SQL statements (with parameters) the store received while ``run`` ran."""
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", keep)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return seen


def test_search_by_name_and_birth_date_seeks_the_birth_date_index(session: Session) -> None:
    # A population big enough that a planner prefers an index to reading the table: 4,000
    # people over 2,000 birth dates, so about two share each date.
    people = [{"person_id": f"per-plan-{n}", "status": "active"} for n in range(4000)]
    session.execute(insert(Person), people)
    session.execute(
        insert(SourcePatient),
        [
            {
                "source": "gp",
                "local_id": f"plan-{n}",
                "family_name": f"Family{n % 300}",
                "given_name": "Pat",
                "birth_date": date(1940, 1, 1) + timedelta(days=n % 2000),
                "person_id": f"per-plan-{n}",
                "nhs_number_status": "missing",
            }
            for n in range(4000)
        ],
    )
    analyse = "ANALYZE" if session.get_bind().dialect.name == "postgresql" else "ANALYZE source_patient"
    session.execute(text(analyse))
    gp = actor("gp", org=PRACTICE_ANN)
    statements = _search_statements(
        session, lambda: search_patients(session, actor=gp, name="Pat Family7", birth_date=date(1940, 1, 8))
    )
    [(statement, parameters)] = [(sql, p) for sql, p in statements if "lower(source_patient.family_name)" in sql]
    explain = "EXPLAIN QUERY PLAN" if session.get_bind().dialect.name == "sqlite" else "EXPLAIN"
    # SQLite's plan rows end with the step's text; PostgreSQL's are one text column.
    rows = session.connection().exec_driver_sql(f"{explain} {statement}", parameters)
    plan = " ".join(str(row[-1]) for row in rows)
    assert "ix_source_patient_birth_date" in plan, plan
