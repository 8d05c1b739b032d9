"""Activity staging: the core columns the activity mart needs, secondary-use persons only."""

from __future__ import annotations

import ibis.expr.types as ir

from joinedup.warehouse.marts import MartInputs
from joinedup.warehouse.marts._shared import secondary_use_persons


def stage_persons(inputs: MartInputs) -> ir.Table:
    """Persons secondary use may include, with the practice and neighbourhood activity counts under."""
    person = secondary_use_persons(inputs.core, inputs.allowed)
    return person.select("person_id", "practice_code", "neighbourhood")


def stage_encounters(inputs: MartInputs) -> ir.Table:
    """Encounters of secondary-use persons, on or before the reporting date."""
    encounter = inputs.core["encounter"].semi_join(inputs.allowed, "person_id")
    encounter = encounter.filter(encounter.start_date.isnull() | (encounter.start_date <= inputs.as_of))
    return encounter.select(
        "encounter_id", "person_id", "setting", "admission_method", "start_date", "length_of_stay_days",
        "cost_gbp",
    )


def stage_person_months(inputs: MartInputs) -> ir.Table:
    """The person-month spine of secondary-use persons."""
    return inputs.core["person_month"].semi_join(inputs.allowed, "person_id")
