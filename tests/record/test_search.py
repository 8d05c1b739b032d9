"""Finding a person: NHS number or name with date of birth, each match through governance."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import InvalidInput
from joinedup.record import search_patients
from joinedup.store.tables.governance import AuditEntry

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
