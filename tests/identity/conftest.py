"""Shared helpers for identity tests: source patients built by hand."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from joinedup.identity import check_nhs_number
from joinedup.identity.model import TrainedModel, records_table, train_model
from joinedup.identity.service import model_folder
from joinedup.settings import Settings
from joinedup.store.tables.identity import SourcePatient


def add_patient(
    session: Session,
    local_id: str,
    *,
    source: str = "gp",
    nhs: str | None = None,
    given: str | None = None,
    family: str | None = None,
    dob: date | None = None,
    sex: str | None = None,
    postcode: str | None = None,
) -> int:
    """Store one source patient as feeds would (NHS number checked) and return its id."""
    check = check_nhs_number(nhs)
    patient = SourcePatient(
        source=source,
        local_id=local_id,
        nhs_number_given=nhs,
        nhs_number=check.normalised,
        nhs_number_status=check.status,
        given_name=given,
        family_name=family,
        birth_date=dob,
        sex=sex,
        postcode=postcode,
    )
    session.add(patient)
    session.flush()
    return patient.source_patient_id


class PatientFactory:
    """Adds source patients to one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __call__(self, local_id: str, **fields: object) -> int:
        return add_patient(self.session, local_id, **fields)  # type: ignore[arg-type]


@pytest.fixture
def patient(session: Session) -> PatientFactory:
    """A factory that stores a source patient in the test's session and returns its id."""
    return PatientFactory(session)


GIVEN = {
    "male": ["OLIVER", "GEORGE", "HARRY", "JACK", "JOHN", "DAVID", "MICHAEL", "PAUL", "PETER", "ROBERT", "MOHAMMED",
             "ADAM", "OMAR", "RAVI", "SAMUEL", "KWAME", "TOMASZ", "SEAN", "LIAM", "RYAN", "MATTHEW", "LUKE"],
    "female": ["OLIVIA", "AMELIA", "ISLA", "AVA", "MIA", "GRACE", "LILY", "EMILY", "MARGARET", "SUSAN", "MARY",
               "JEAN", "SARAH", "CLAIRE", "EMMA", "HELEN", "AISHA", "FATIMA", "PRIYA", "ZARA", "MEGAN", "CHLOE"],
}
FAMILY = ["SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS", "WILSON", "JOHNSON", "DAVIES", "ROBINSON", "WRIGHT",
          "THOMPSON", "EVANS", "WALKER", "WHITE", "KHAN", "ALI", "PATEL", "SINGH", "HUSSAIN", "OKAFOR", "MENSAH",
          "MURPHY", "KOWALSKI", "NOWAK", "BYRNE", "OBRIEN", "HARGREAVES", "ASHWORTH", "BEGUM", "CHEN"]
DISTRICTS = ["LS1", "LS2", "LS6", "LS7", "LS8", "LS9", "LS11", "LS12"]


def _typo(rng: random.Random, text: str) -> str:
    position = rng.randrange(len(text))
    return text[:position] + rng.choice("AEIOURSTLN") + text[position + 1 :]


def training_population(seed: int = 7, persons: int = 1500) -> tuple[list[dict[str, object]], dict[int, int]]:
    """Model rows for a made-up borough: people with 1-3 records each, some with keying errors.

    Returns the rows and the true person of each row (for checking, not for training).
    """
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    truth: dict[int, int] = {}
    for person in range(persons):
        sex = rng.choice(["male", "female"])
        given, family = rng.choice(GIVEN[sex]), rng.choice(FAMILY)
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(90 * 365))
        postcode = f"{rng.choice(DISTRICTS)} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTUW')}"
        nhs = f"9{person:09d}"
        for _ in range(rng.choice([1, 2, 2, 3])):
            record = {"first_name": given, "surname": family, "dob": born.isoformat(), "sex": sex,
                      "postcode": postcode, "nhs_number": nhs if rng.random() < 0.6 else None}
            fault = rng.random()
            if fault < 0.06:
                record["first_name"] = _typo(rng, given)
            elif fault < 0.12:
                record["surname"] = _typo(rng, family)
            elif fault < 0.15 and born.day <= 12:
                record["dob"] = date(born.year, born.day, born.month).isoformat()
            elif fault < 0.2:
                record["postcode"] = None
            elif fault < 0.23:
                record["sex"] = None
            record["unique_id"] = len(rows)
            truth[len(rows)] = person
            rows.append(record)
    return rows, truth


@pytest.fixture(scope="session")
def trained_model() -> TrainedModel:
    """A linkage model trained (unsupervised) on the made-up borough, once per test run."""
    rows, _ = training_population()
    return train_model(records_table(rows))


@pytest.fixture
def settings(tmp_path: Path, trained_model: TrainedModel) -> Settings:
    """Settings with a home in a temporary folder that already holds the trained model."""
    settings = Settings(home=tmp_path / "home")
    trained_model.save(model_folder(settings))
    return settings


@pytest.fixture
def small_population() -> list[dict[str, object]]:
    """Model rows for 30 made-up people (about 60 records), for cross-engine checks."""
    rows, _ = training_population(seed=11, persons=30)
    return rows
