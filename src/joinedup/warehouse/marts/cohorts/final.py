"""Cohorts of national priority: older people living with frailty, care-home residents, housebound and
end of life, multiple long-term conditions; and how many of each have a shared care plan."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from joinedup.warehouse.marts import MartInputs
from joinedup.warehouse.marts._shared import attach, percentage
from joinedup.warehouse.marts.cohorts.rules import (
    MULTIPLE_LTC_MINIMUM,
    OLDER_AGE,
    frail_flag,
    ltc_counts,
    marked_persons,
)
from joinedup.warehouse.marts.cohorts.staging import (
    stage_care_plans,
    stage_coded_markers,
    stage_frailty,
    stage_persons,
)

PLACE = ["practice_code", "neighbourhood"]
COHORTS = ("over_75_moderate_severe_frailty", "care_home", "housebound_or_end_of_life", "multiple_ltc")


def _person(inputs: MartInputs) -> ir.Table:
    persons = stage_persons(inputs)
    markers = marked_persons(stage_coded_markers(inputs), inputs.core["codelist"])
    marker_flags = markers.group_by("person_id").aggregate(
        care_home_flag=(markers.marker == "care_home").any(),
        housebound_flag=(markers.marker == "housebound").any(),
        end_of_life_flag=(markers.marker == "end_of_life").any(),
    )
    members = inputs.read("registers", "person_register")
    plans = stage_care_plans(inputs).mutate(shared_care_plan_flag=ibis.literal(True))
    table = attach(persons, stage_frailty(inputs), ["person_id"])
    table = attach(table, marker_flags, ["person_id"])
    table = attach(table, ltc_counts(members), ["person_id"], counts=("ltc_count",))
    table = attach(table, plans, ["person_id"])
    over_75 = (table.age >= OLDER_AGE).fill_null(False)
    return table.select(
        "person_id",
        *PLACE,
        "age",
        over_75.name("over_75_flag"),
        "efi_category",
        table.efi_category.notnull().name("efi_available_flag"),
        frail_flag(table.efi_category, table.efi_category.notnull()).name("frailty_moderate_severe_flag"),
        table.care_home_flag.fill_null(False).name("care_home_flag"),
        table.housebound_flag.fill_null(False).name("housebound_flag"),
        table.end_of_life_flag.fill_null(False).name("end_of_life_flag"),
        "ltc_count",
        (table.ltc_count >= MULTIPLE_LTC_MINIMUM).name("multiple_ltc_flag"),
        table.shared_care_plan_flag.fill_null(False).name("shared_care_plan_flag"),
    )


def _summary(person: ir.Table) -> ir.Table:
    membership = {
        "over_75_moderate_severe_frailty": person.over_75_flag & person.frailty_moderate_severe_flag.fill_null(False),
        "care_home": person.care_home_flag,
        "housebound_or_end_of_life": person.housebound_flag | person.end_of_life_flag,
        "multiple_ltc": person.multiple_ltc_flag,
    }
    rows = []
    for cohort, member in membership.items():
        # Frailty needs eFI scores: without any for the practice's over-75s the count is flagged.
        available = (
            (person.over_75_flag & person.efi_available_flag).any()
            if cohort == "over_75_moderate_severe_frailty"
            else ibis.literal(True)
        )
        rows.append(
            person.group_by(PLACE).aggregate(
                cohort=ibis.literal(cohort),
                person_count=member.cast("int64").sum(),
                with_care_plan_count=(member & person.shared_care_plan_flag).cast("int64").sum(),
                data_available_flag=available,
            )
        )
    summary = ibis.union(*rows)
    return summary.select(
        *PLACE,
        "cohort",
        "person_count",
        "with_care_plan_count",
        percentage(summary.with_care_plan_count, summary.person_count).name("with_care_plan_pct"),
        "data_available_flag",
    )


def build_mart(inputs: MartInputs) -> None:
    """Publish the cohorts mart's tables (see contract.yml and docs/marts/cohorts.md)."""
    person = inputs.publish("person", _person(inputs))
    inputs.publish("practice_summary", _summary(person))
