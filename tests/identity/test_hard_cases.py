"""Hand-built hard cases, linked through the store with a model trained on a made-up borough."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.identity import link_new_source_patients
from joinedup.identity.model import Thresholds
from joinedup.identity.review import open_review_items
from joinedup.identity.service import link_all
from joinedup.settings import Settings
from joinedup.store.tables.identity import SourcePatient

Patient = Callable[..., int]


def _person(session: Session, source_patient_id: int) -> str | None:
    return session.scalar(select(SourcePatient.person_id).where(SourcePatient.source_patient_id == source_patient_id))


def _borough(patient: Patient) -> None:
    """Unrelated neighbours, so every case is linked against a population, not alone."""
    people = [
        ("OLIVER", "JONES", date(1941, 2, 3), "male", "LS6 2AB", "9000000009"),
        ("MARY", "JONES", date(1944, 7, 19), "female", "LS6 2AB", "9000000025"),
        ("PRIYA", "PATEL", date(1988, 11, 30), "female", "LS7 4DE", "9000000033"),
        ("KWAME", "MENSAH", date(1975, 5, 5), "male", "LS8 1GH", "9434765919"),
    ]
    for number, (given, family, dob, sex, postcode, nhs) in enumerate(people):
        patient(f"n{number}", given=given, family=family, dob=dob, sex=sex, postcode=postcode, nhs=nhs)


def test_twins_stay_two_people(session: Session, patient: Patient, settings: Settings) -> None:
    _borough(patient)
    twin_a = patient("g1", given="AMELIA", family="WRIGHT", dob=date(2001, 6, 14), sex="female", postcode="LS9 7QT",
                     nhs="4000000632")
    twin_b = patient("g2", given="ISLA", family="WRIGHT", dob=date(2001, 6, 14), sex="female", postcode="LS9 7QT",
                     nhs="6148595893")
    # Social care knows twin A without an NHS number.
    care_a = patient("sc1", source="social_care", given="Amelia", family="Wright", dob=date(2001, 6, 14),
                     sex="female", postcode="LS9 7QT")
    link_all(session, settings)
    assert _person(session, twin_a) != _person(session, twin_b)
    assert _person(session, care_a) == _person(session, twin_a)


def test_same_name_and_birthday_at_one_address_is_reviewed_not_guessed(
    session: Session, patient: Patient, settings: Settings
) -> None:
    _borough(patient)
    first = patient("g1", given="JOHN", family="SMITH", dob=date(1960, 1, 1), sex="male", postcode="LS1 1AA",
                    nhs="4865447040")
    second = patient("g2", given="JOHN", family="SMITH", dob=date(1960, 1, 1), sex="male", postcode="LS1 1AA",
                     nhs="4823917286")
    unknown = patient("c1", source="community", given="John", family="Smith", dob=date(1960, 1, 1), sex="male",
                      postcode="LS1 1AA")
    report = link_all(session, settings)
    persons = {_person(session, first), _person(session, second), _person(session, unknown)}
    assert len(persons) == 3
    items = open_review_items(session)
    queued = {frozenset((item.source_patient_id, item.candidate_source_patient_id)) for item in items}
    # The two registered John Smiths are also put to a reviewer: one person holding two NHS
    # numbers (a duplicate registration) looks exactly like this.
    assert queued == {frozenset((unknown, first)), frozenset((unknown, second)), frozenset((first, second))}
    assert report.review_open == 3


def test_swapped_day_and_month_links(session: Session, patient: Patient, settings: Settings) -> None:
    _borough(patient)
    gp = patient("g1", given="SARAH", family="HARGREAVES", dob=date(1952, 3, 11), sex="female", postcode="LS12 3NP",
                 nhs="5900046192")
    pas = patient("m1", source="pas", given="SARAH", family="HARGREAVES", dob=date(1952, 11, 3), sex="female",
                  postcode="LS12 3NP")
    link_all(session, settings)
    assert _person(session, pas) == _person(session, gp)


def test_surname_change_after_marriage_links(session: Session, patient: Patient, settings: Settings) -> None:
    _borough(patient)
    before = patient("g1", given="CLAIRE", family="ASHWORTH", dob=date(1990, 8, 21), sex="female",
                     postcode="LS11 5TW", nhs="5900056597")
    after = patient("c1", source="community", given="CLAIRE", family="KOWALSKI", dob=date(1990, 8, 21),
                    sex="female", postcode="LS11 5TW")
    link_all(session, settings)
    assert _person(session, after) == _person(session, before)


def test_baby_without_a_name_yet_links_once_named(session: Session, patient: Patient, settings: Settings) -> None:
    _borough(patient)
    newborn = patient("m1", source="pas", given="Baby", family="OKAFOR", dob=date(2026, 10, 2), sex="male",
                      postcode="LS7 2RS", nhs="5900057208")
    named = patient("g1", given="SAMUEL", family="OKAFOR", dob=date(2026, 10, 2), sex="male", postcode="LS7 2RS")
    link_all(session, settings)
    assert _person(session, named) == _person(session, newborn)


def test_placeholder_nhs_numbers_never_link_strangers(session: Session, patient: Patient, settings: Settings) -> None:
    _borough(patient)
    ids = [
        patient("a", source="pas", nhs="9999999999", given="ANN", family="SMITH", dob=date(1950, 3, 4), sex="female",
                postcode="LS1 2AB"),
        patient("b", source="pas", nhs="9999999999", given="JOE", family="BLOGGS", dob=date(1971, 9, 1), sex="male",
                postcode="LS2 8ZZ"),
        patient("c", source="pas", nhs="1111111111", given="SUE", family="BROWN", dob=date(1962, 1, 1),
                sex="female", postcode="LS8 1AA"),
    ]
    link_all(session, settings)
    assert len({_person(session, i) for i in ids}) == 3


def test_rerun_keeps_person_ids_stable(session: Session, patient: Patient, settings: Settings) -> None:
    _borough(patient)
    gp = patient("g1", given="GRACE", family="EVANS", dob=date(1938, 4, 9), sex="female", postcode="LS9 6PU",
                 nhs="9693632109")
    care = patient("sc1", source="social_care", given="GRACE", family="EVANS", dob=date(1938, 4, 9), sex="female",
                   postcode="LS9 6PU")
    link_all(session, settings)
    before = {i: _person(session, i) for i in (gp, care)}
    unrelated = patient("sc2", source="social_care", given="PETER", family="EVANS", dob=date(1966, 2, 2),
                        sex="male", postcode="LS9 6PU")
    report = link_all(session, settings)
    assert {i: _person(session, i) for i in (gp, care)} == before
    assert _person(session, unrelated) not in before.values()
    assert report.summary.considered == 1


def test_someone_elses_valid_nhs_number_does_not_link_to_them(
    session: Session, patient: Patient, settings: Settings
) -> None:
    _borough(patient)
    owner = patient("g1", given="MARGARET", family="BYRNE", dob=date(1931, 12, 2), sex="female", postcode="LS2 9JT",
                    nhs="9732110317")
    real = patient("g2", given="DEREK", family="NOWAK", dob=date(1958, 6, 23), sex="male", postcode="LS8 3QX",
                   nhs="9733162043")
    # Social care keyed Margaret's number on Derek's record: his demographics must win.
    keyed_wrongly = patient("sc1", source="social_care", given="DEREK", family="NOWAK", dob=date(1958, 6, 23),
                            sex="male", postcode="LS8 3QX", nhs="9732110317")
    report = link_all(session, settings)
    assert report.summary.linked_by_nhs_number == 0
    assert _person(session, keyed_wrongly) == _person(session, real)
    assert _person(session, keyed_wrongly) != _person(session, owner)


def test_incremental_scoring_at_ingest_with_a_trained_model(
    session: Session, patient: Patient, settings: Settings
) -> None:
    _borough(patient)
    gp = patient("g1", given="FATIMA", family="HUSSAIN", dob=date(1983, 2, 27), sex="female", postcode="LS11 8DL",
                 nhs="9736363015")
    link_new_source_patients(session, [gp])
    # A community record without an NHS number, with a typo in the surname, as feeds would pass it.
    community = patient("c1", source="community", given="FATIMA", family="HUSAIN", dob=date(1983, 2, 27),
                        sex="female", postcode="LS11 8DL")
    summary = link_new_source_patients(session, [community], settings=settings)
    assert summary.linked_probabilistically == 1
    assert _person(session, community) == _person(session, gp)
    method, weight = session.execute(
        select(SourcePatient.link_method, SourcePatient.link_match_weight).where(
            SourcePatient.source_patient_id == community
        )
    ).one()
    assert method == "probabilistic"
    assert weight is not None
    assert weight >= settings_thresholds(settings).upper


def settings_thresholds(settings: Settings) -> Thresholds:
    from joinedup.identity.service import load_model

    model = load_model(settings)
    assert model is not None
    return model.thresholds


def test_record_without_date_of_birth_stays_unlinked(session: Session, patient: Patient, settings: Settings) -> None:
    _borough(patient)
    stub = patient("t1", source="telehealth")
    nameless = patient("t2", source="telehealth", postcode="LS6 2AB")
    report = link_all(session, settings)
    assert _person(session, stub) is None
    assert _person(session, nameless) is None
    assert report.summary.left_unlinked == 2
    assert report.unlinked == 2


def test_unseen_valid_nhs_number_on_a_known_person_is_reviewed(
    session: Session, patient: Patient, settings: Settings
) -> None:
    _borough(patient)
    known = patient("g1", given="HELEN", family="ASHWORTH", dob=date(1949, 10, 12), sex="female",
                    postcode="LS12 3NP", nhs="9736363023")
    link_all(session, settings)
    # Community keyed a different valid number (nobody holds it): a new person, but flagged.
    slip = patient("c1", source="community", given="HELEN", family="ASHWORTH", dob=date(1949, 10, 12),
                   sex="female", postcode="LS12 3NP", nhs="9736363066")
    report = link_all(session, settings)
    assert _person(session, slip) != _person(session, known)
    items = open_review_items(session)
    assert [frozenset((item.source_patient_id, item.candidate_source_patient_id)) for item in items] == [
        frozenset((slip, known))
    ]
    assert items[0].explanation.startswith("different valid NHS numbers; possibly a wrong number; first name: the same")
    assert report.review_open == 1
