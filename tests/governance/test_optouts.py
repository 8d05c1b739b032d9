"""Opt-outs: the dated cleaned list per purpose, local objections, consent directives; never direct care."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from joinedup.errors import InvalidInput
from joinedup.governance import authorise, load_cleaned_list, record_local_objection, secondary_use_person_ids
from joinedup.governance.optouts import load_cleaned_lists, withdraw_local_objection
from joinedup.store.tables import SourcePatient

from .factories import actor, make_person


def _cleaned_list(folder: Path, day: str, numbers: list[str], junk: list[str] = ()) -> Path:  # type: ignore[assignment]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"cleaned-list-{day}.csv"
    path.write_text("nhs_number\n" + "".join(f"{n}\n" for n in [*numbers, *junk]), encoding="utf-8")
    return path


def test_only_people_on_a_fresh_cleaned_list_are_used_and_objections_are_honoured(
    session: Session, tmp_path: Path
) -> None:
    people = [make_person(session) for _ in range(6)]
    checked, opted_out, unchecked, type_1, directive, later_opt_out = people
    folder = tmp_path / "national-data-opt-out"
    # The older list named "later_opt_out"; the newer one does not: they have opted out since.
    load_cleaned_list(
        session,
        _cleaned_list(folder, "2026-10-01", [p.nhs_number for p in (checked, type_1, directive, later_opt_out)]),
        "planning",
    )
    loaded = load_cleaned_list(
        session,
        _cleaned_list(
            folder, "2026-11-01", [p.nhs_number for p in (checked, type_1, directive)], ["12345", "9999999990"]
        ),
        "planning",
    )
    assert (loaded.entry_count, loaded.rejected_count, loaded.list_date) == (3, 2, date(2026, 11, 1))
    record_local_objection(session, person_id=type_1.person_id, kind="type_1")
    record_local_objection(session, person_id=directive.person_id, kind="consent_directive", org_code="UNI01")

    as_of = date(2026, 11, 20)
    assert secondary_use_person_ids(session, purpose="planning", as_of=as_of) == {checked.person_id}
    # A directive against one recipient does not stop sharing with another.
    assert secondary_use_person_ids(session, purpose="planning", as_of=as_of, recipient_org_code="ICB01") == {
        checked.person_id,
        directive.person_id,
    }
    # A list older than the policy allows (31 days) counts for nothing: nobody unchecked gets through.
    assert secondary_use_person_ids(session, purpose="planning", as_of=date(2026, 12, 5)) == set()
    # Another purpose has its own list; none loaded means nobody.
    assert secondary_use_person_ids(session, purpose="research", as_of=as_of) == set()
    # Never written onto the person's record.
    assert {c.name for c in SourcePatient.__table__.columns if "opt" in c.name} == set()
    assert opted_out.person_id not in secondary_use_person_ids(session, purpose="planning", as_of=as_of)
    assert unchecked.person_id not in secondary_use_person_ids(session, purpose="planning", as_of=as_of)


def test_a_withdrawn_objection_stops_excluding(session: Session, tmp_path: Path) -> None:
    person = make_person(session)
    load_cleaned_list(session, _cleaned_list(tmp_path, "2026-11-01", [person.nhs_number]), "research")
    objection = record_local_objection(session, person_id=person.person_id, kind="type_1", purpose="research")
    assert secondary_use_person_ids(session, purpose="research", as_of=date(2026, 11, 2)) == set()
    withdraw_local_objection(session, local_objection_id=objection.local_objection_id)
    assert secondary_use_person_ids(session, purpose="research", as_of=date(2026, 11, 2)) == {person.person_id}


def test_a_person_with_a_second_unchecked_nhs_number_stays_out(session: Session, tmp_path: Path) -> None:
    person = make_person(session)
    other = make_person(session)
    # A hospital record linked to the same person carries another valid NHS number, not on the list.
    session.get(SourcePatient, other.source_patient_id).person_id = person.person_id  # type: ignore[union-attr]
    session.flush()
    load_cleaned_list(session, _cleaned_list(tmp_path, "2026-11-01", [person.nhs_number]), "planning")
    assert secondary_use_person_ids(session, purpose="planning", as_of=date(2026, 11, 2)) == set()


def test_risk_stratification_ignores_the_national_opt_out_but_honours_type_1(session: Session) -> None:
    a, b = make_person(session), make_person(session)
    record_local_objection(session, person_id=b.person_id, kind="type_1")
    assert secondary_use_person_ids(session, purpose="risk_stratification", as_of=date(2026, 11, 2)) == {a.person_id}


def test_opt_outs_never_apply_to_direct_care(session: Session) -> None:
    person = make_person(session, practice="P00001")
    record_local_objection(session, person_id=person.person_id, kind="type_1")
    with pytest.raises(InvalidInput, match="not in the consent policy"):
        secondary_use_person_ids(session, purpose="direct_care", as_of=date(2026, 11, 2))
    assert authorise(session, actor=actor("gp", org="P00001"), person_id=person.person_id, resource_type="condition")


def test_bad_cleaned_lists_are_refused(sqlite_session: Session, tmp_path: Path) -> None:
    wrong_name = tmp_path / "optouts.csv"
    wrong_name.write_text("nhs_number\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="cleaned-list-YYYY-MM-DD"):
        load_cleaned_list(sqlite_session, wrong_name, "planning")
    no_column = tmp_path / "cleaned-list-2026-11-01.csv"
    no_column.write_text("nhs\n9434765919\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no nhs_number column"):
        load_cleaned_list(sqlite_session, no_column, "planning")
    with pytest.raises(InvalidInput, match="not in the consent policy"):
        load_cleaned_list(sqlite_session, no_column, "marketing")


def test_reloading_a_list_replaces_it_and_a_folder_loads_every_list(sqlite_session: Session, tmp_path: Path) -> None:
    a, b = make_person(sqlite_session), make_person(sqlite_session)
    folder = tmp_path / "national-data-opt-out"
    _cleaned_list(folder, "2026-11-01", [a.nhs_number, b.nhs_number])
    _cleaned_list(folder, "2026-10-01", [a.nhs_number])
    loads = load_cleaned_lists(sqlite_session, folder, "planning")
    assert [(x.list_date, x.entry_count) for x in loads] == [(date(2026, 10, 1), 1), (date(2026, 11, 1), 2)]
    corrected = load_cleaned_list(sqlite_session, _cleaned_list(folder, "2026-11-01", [b.nhs_number]), "planning")
    assert corrected.replaced
    assert secondary_use_person_ids(sqlite_session, purpose="planning", as_of=date(2026, 11, 1)) == {b.person_id}
