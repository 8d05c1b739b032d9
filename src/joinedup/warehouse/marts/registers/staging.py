"""Registers staging: secondary-use persons alive on the reporting date, their diagnoses and tests."""

from __future__ import annotations

import ibis.expr.types as ir

from joinedup.warehouse.marts import MartInputs
from joinedup.warehouse.marts._shared import (
    age_band,
    age_on,
    alive_on,
    code_system_family,
    icd10_category,
    secondary_use_persons,
    sex_group,
)


def stage_list(inputs: MartInputs) -> ir.Table:
    """The registered list on the reporting date: secondary-use persons alive then, age-banded."""
    person = secondary_use_persons(inputs.core, inputs.allowed)
    alive = person.filter(alive_on(person, inputs.as_of))
    return alive.select(
        "person_id", "practice_code", "neighbourhood",
        sex_group(alive.sex).name("sex"),
        age_on(alive.birth_date, inputs.as_of).name("age"),
        age_band(age_on(alive.birth_date, inputs.as_of)).name("age_band"),
    )


def stage_diagnoses(inputs: MartInputs) -> ir.Table:
    """Diagnoses recorded by the reporting date, with a matchable code and code-system family."""
    diagnosis = inputs.core["diagnosis"].semi_join(inputs.allowed, "person_id")
    diagnosis = diagnosis.filter(
        diagnosis.recorded_date.isnull() | (diagnosis.recorded_date <= inputs.as_of),
        diagnosis.clinical_status.isnull() | ~diagnosis.clinical_status.isin(("resolved", "inactive", "refuted")),
    )
    family = code_system_family(diagnosis.code_system)
    return diagnosis.select(
        "person_id",
        "recorded_date",
        family.name("code_family"),
        (family == "icd10").ifelse(icd10_category(diagnosis.code), diagnosis.code.strip()).name("code"),
    )


def stage_observations(inputs: MartInputs) -> ir.Table:
    """Observations up to the reporting date, with code-system family and care setting."""
    observation = inputs.core["observation"].semi_join(inputs.allowed, "person_id")
    observation = observation.filter(
        observation.effective_date.notnull(), observation.effective_date <= inputs.as_of
    )
    source = observation.source.lower()
    return observation.select(
        "person_id",
        "effective_date",
        "value_num",
        "unit",
        observation.code.strip().name("code"),
        code_system_family(observation.code_system).name("code_family"),
        (
            source.startswith("gp").ifelse("primary", source.startswith("hospital").ifelse("secondary", "other"))
        ).name("care_setting"),
    )
