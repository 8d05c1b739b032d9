"""Cohort staging: secondary-use persons alive on the reporting date, their coded markers and plans."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from joinedup.warehouse.marts import MartInputs
from joinedup.warehouse.marts._shared import (
    age_on,
    alive_on,
    code_system_family,
    icd10_category,
    secondary_use_persons,
)


def stage_persons(inputs: MartInputs) -> ir.Table:
    """Secondary-use persons alive on the reporting date, with their age then."""
    person = secondary_use_persons(inputs.core, inputs.allowed)
    alive = person.filter(alive_on(person, inputs.as_of))
    return alive.select(
        "person_id", "practice_code", "neighbourhood", age_on(alive.birth_date, inputs.as_of).name("age")
    )


def stage_coded_markers(inputs: MartInputs) -> ir.Table:
    """Every coded diagnosis and observation up to the reporting date, as (person, family, code)."""
    diagnosis = inputs.core["diagnosis"]
    diagnosis = diagnosis.filter(diagnosis.recorded_date.isnull() | (diagnosis.recorded_date <= inputs.as_of))
    observation = inputs.core["observation"]
    observation = observation.filter(
        observation.effective_date.isnull() | (observation.effective_date <= inputs.as_of)
    )
    coded = ibis.union(
        diagnosis.select("person_id", "code", "code_system"),
        observation.select("person_id", "code", "code_system"),
    ).semi_join(inputs.allowed, "person_id")
    family = code_system_family(coded.code_system)
    return coded.select(
        "person_id",
        family.name("code_family"),
        (family == "icd10").ifelse(icd10_category(coded.code), coded.code.strip()).name("code"),
    )


def stage_frailty(inputs: MartInputs) -> ir.Table:
    """Each person's latest eFI category from the risk area's scores (empty before risk has run)."""
    frailty = inputs.core["frailty"].semi_join(inputs.allowed, "person_id")
    return frailty.select("person_id", frailty.efi_category.lower().name("efi_category"))


def stage_care_plans(inputs: MartInputs) -> ir.Table:
    """Persons with a shared care plan (record CarePlans and coordination's plans)."""
    return inputs.core["care_plan"].semi_join(inputs.allowed, "person_id").select("person_id").distinct()
