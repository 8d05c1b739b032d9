"""Outcomes staging: secondary-use persons, their admissions and A&E attendances, their months."""

from __future__ import annotations

import ibis.expr.types as ir

from joinedup.warehouse.marts import MartInputs
from joinedup.warehouse.marts._shared import secondary_use_persons, sex_group


def stage_persons(inputs: MartInputs) -> ir.Table:
    """Secondary-use persons with what standardisation and death outcomes need."""
    person = secondary_use_persons(inputs.core, inputs.allowed)
    return person.select(
        "person_id", "practice_code", "neighbourhood", "birth_date", "death_date",
        sex_group(person.sex).name("sex"),
    )


def stage_admissions(inputs: MartInputs) -> ir.Table:
    """Admitted-care spells of secondary-use persons that started by the reporting date."""
    encounter = inputs.core["encounter"].semi_join(inputs.allowed, "person_id")
    spells = encounter.filter(
        encounter.setting == "inpatient",
        encounter.start_date.notnull(),
        encounter.start_date <= inputs.as_of,
    )
    return spells.select(
        "encounter_id", "person_id", "admission_method", "start_date", "end_date", "length_of_stay_days",
        "primary_diagnosis_code", "primary_diagnosis_code_system", "discharge_destination",
    )


def stage_ae_attendances(inputs: MartInputs) -> ir.Table:
    """A&E attendances of secondary-use persons up to the reporting date."""
    encounter = inputs.core["encounter"].semi_join(inputs.allowed, "person_id")
    attendances = encounter.filter(
        encounter.setting == "ae", encounter.start_date.notnull(), encounter.start_date <= inputs.as_of
    )
    return attendances.select("encounter_id", "person_id", "start_date")


def stage_person_months(inputs: MartInputs) -> ir.Table:
    """The person-month spine of secondary-use persons."""
    return inputs.core["person_month"].semi_join(inputs.allowed, "person_id")
