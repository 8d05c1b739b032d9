"""The deterministic path: valid NHS number + consistent date of birth, set-based, stable ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.identity import link_new_source_patients
from joinedup.store.tables.identity import Person, PersonLinkEvent, SourcePatient


def _person_of(session: Session, source_patient_id: int) -> str | None:
    return session.scalar(select(SourcePatient.person_id).where(SourcePatient.source_patient_id == source_patient_id))


def test_same_nhs_number_and_dob_link_across_batches(session: Session, patient: Callable[..., int]) -> None:
    gp = patient("g1", nhs="943 476 5919", given="Ann", family="Smith", dob=date(1950, 3, 4))
    first = link_new_source_patients(session, [gp])
    assert (first.new_persons, first.linked_by_nhs_number) == (1, 0)
    person_id = _person_of(session, gp)
    assert person_id is not None
    assert len(person_id) == 32

    pas = patient("MRN1", source="pas", nhs="9434765919", given="ANN", family="SMITH", dob=date(1950, 3, 4))
    second = link_new_source_patients(session, [pas])
    assert (second.new_persons, second.linked_by_nhs_number) == (0, 1)
    assert _person_of(session, pas) == person_id
    events = session.execute(
        select(
            PersonLinkEvent.source_patient_id,
            PersonLinkEvent.action,
            PersonLinkEvent.to_person_id,
            PersonLinkEvent.method,
        ).order_by(PersonLinkEvent.link_event_id)
    ).all()
    assert [tuple(event) for event in events] == [
        (gp, "link", person_id, "new_person"),
        (pas, "link", person_id, "nhs_number"),
    ]


def test_batch_sharing_a_new_number_makes_one_person(session: Session, patient: Callable[..., int]) -> None:
    ids = [patient(f"c{i}", source="community", nhs="9434765919", dob=date(1950, 3, 4)) for i in range(3)]
    summary = link_new_source_patients(session, ids)
    assert (summary.new_persons, summary.linked_by_nhs_number) == (1, 2)
    assert len({_person_of(session, i) for i in ids}) == 1
    assert session.scalar(select(func.count()).select_from(Person)) == 1


def test_conflicting_dob_is_left_for_probabilistic_linkage(session: Session, patient: Callable[..., int]) -> None:
    owner = patient("g1", nhs="9434765919", given="Ann", family="Smith", dob=date(1950, 3, 4))
    link_new_source_patients(session, [owner])
    # Same number on a record of somebody born 30 years later: a wrong number, not the same person.
    stranger = patient("s1", source="social_care", nhs="9434765919", given="Joe", family="Bloggs", dob=date(1980, 7, 9))
    summary = link_new_source_patients(session, [stranger])
    assert summary.unresolved == [stranger]
    assert _person_of(session, stranger) is None


def test_swapped_day_and_month_with_same_name_still_links(session: Session, patient: Callable[..., int]) -> None:
    owner = patient("g1", nhs="9434765919", given="Ann", family="Smith", dob=date(1950, 3, 4))
    swapped = patient("p1", source="pas", nhs="9434765919", given="Ann", family="Smith", dob=date(1950, 4, 3))
    link_new_source_patients(session, [owner, swapped])
    assert _person_of(session, owner) == _person_of(session, swapped)


def test_placeholder_numbers_never_link_strangers(session: Session, patient: Callable[..., int]) -> None:
    ids = [
        patient("a", nhs="9999999999", given="Ann", family="Smith", dob=date(1950, 3, 4)),
        patient("b", nhs="9999999999", given="Joe", family="Bloggs", dob=date(1950, 3, 4)),
        patient("c", nhs="1111111111", given="Sue", family="Brown", dob=date(1962, 1, 1)),
        patient("d", nhs="1111111111", given="Raj", family="Patel", dob=date(1962, 1, 1)),
    ]
    summary = link_new_source_patients(session, ids)
    assert summary.unresolved == sorted(ids)
    assert summary.new_persons == 0
    assert all(_person_of(session, i) is None for i in ids)


def test_already_linked_records_keep_their_person(session: Session, patient: Callable[..., int]) -> None:
    gp = patient("g1", nhs="9434765919", dob=date(1950, 3, 4))
    link_new_source_patients(session, [gp])
    before = _person_of(session, gp)
    summary = link_new_source_patients(session, [gp])
    assert (summary.already_linked, summary.new_persons) == (1, 0)
    assert _person_of(session, gp) == before


def test_thousands_of_rows_take_a_handful_of_queries(session: Session, patient: Callable[..., int]) -> None:
    from sqlalchemy import event, insert

    from joinedup.identity.nhs_number import check_digit

    rows = []
    for n in range(3000):
        stem = f"{400000000 + n * 7:09d}"
        digit = check_digit(stem)
        if digit is None:
            continue
        number = stem + str(digit)
        rows.append(
            {"source": "bulk", "local_id": str(n), "nhs_number": number, "nhs_number_status": "valid"}
        )
    session.execute(insert(SourcePatient), rows)
    ids = list(session.scalars(select(SourcePatient.source_patient_id).where(SourcePatient.source == "bulk")))
    statements: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *args: statements.append(args[2]))
    summary = link_new_source_patients(session, ids)
    assert summary.new_persons == len(rows)
    assert len(statements) <= 8


def test_swapped_day_and_month_without_names_still_links(session: Session, patient: Callable[..., int]) -> None:
    # A SUS-style record carries no names: the NHS number plus the swapped date is enough.
    gp = patient("g1", nhs="9434765919", given="Ann", family="Smith", dob=date(1950, 3, 4), postcode="LS1 1AA")
    sus = patient("s1", source="pas", nhs="9434765919", dob=date(1950, 4, 3))
    link_new_source_patients(session, [gp, sus])
    assert _person_of(session, sus) == _person_of(session, gp)


def test_one_part_of_the_date_wrong_needs_a_name_or_postcode(session: Session, patient: Callable[..., int]) -> None:
    gp = patient("g1", nhs="9434765919", given="Ann", family="Smith", dob=date(1950, 3, 4), postcode="LS1 1AA")
    link_new_source_patients(session, [gp])
    same_postcode = patient("p1", source="pas", nhs="9434765919", dob=date(1951, 3, 4), postcode="ls11aa")
    nothing_agrees = patient("c1", source="community", nhs="9434765919", given="Bob", family="Jones",
                             dob=date(1950, 3, 9), postcode="LS9 9ZZ")
    summary = link_new_source_patients(session, [same_postcode, nothing_agrees])
    assert _person_of(session, same_postcode) == _person_of(session, gp)
    assert summary.unresolved == [nothing_agrees]


def test_a_batch_run_writes_through_a_temporary_table_with_the_same_links(
    session: Session, patient: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from joinedup.identity import deterministic

    # The batch run's path (hundreds of thousands of links) on a batch small enough to check by hand.
    monkeypatch.setattr(deterministic, "SET_BASED_FROM", 1)
    known = patient("k1", nhs="9434765919", given="Ann", family="Smith", dob=date(1950, 3, 4))
    link_new_source_patients(session, [known])
    ann = _person_of(session, known)
    new = [
        patient("a1", source="pas", nhs="9434765919", dob=date(1950, 3, 4)),
        patient("b1", nhs="9000000009", dob=date(1961, 5, 6)),
        patient("b2", source="pas", nhs="9000000009", dob=date(1961, 5, 6)),
        patient("c1", nhs="9000000025", dob=date(1970, 1, 1)),
    ]
    summary = deterministic.link_unlinked_by_nhs_number(session)
    assert (summary.linked_by_nhs_number, summary.new_persons) == (2, 2)
    persons = [_person_of(session, record) for record in new]
    assert persons[0] == ann
    assert persons[1] == persons[2] != persons[3]
    for person in (persons[1], persons[3]):
        stored = session.get(Person, person)
        assert stored is not None
        assert (stored.status, stored.created_at is not None) == ("active", True)
    links = session.execute(
        select(SourcePatient.link_method, SourcePatient.linked_at).where(SourcePatient.source_patient_id.in_(new))
    ).all()
    assert sorted(method for method, _ in links) == ["new_person", "new_person", "nhs_number", "nhs_number"]
    assert all(linked_at is not None for _, linked_at in links)
    events = session.execute(
        select(PersonLinkEvent.source_patient_id, PersonLinkEvent.action, PersonLinkEvent.to_person_id)
        .where(PersonLinkEvent.source_patient_id.in_(new))
        .order_by(PersonLinkEvent.link_event_id)
    ).all()
    assert [tuple(event) for event in events] == [
        (record, "link", person) for record, person in zip(new, persons, strict=True)
    ]
