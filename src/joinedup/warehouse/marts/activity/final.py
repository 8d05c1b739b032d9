"""Activity and cost: published tables per person, practice and neighbourhood, by month and setting."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from joinedup.warehouse.marts import MartInputs
from joinedup.warehouse.marts.activity.rules import classify_encounters
from joinedup.warehouse.marts.activity.staging import stage_encounters, stage_person_months, stage_persons


def _totals(grouped: ir.Table, keys: list[str]) -> ir.Table:
    return grouped.group_by(keys).aggregate(
        person_count=grouped.person_id.nunique(),
        contact_count=grouped.count(),
        bed_days=grouped.bed_days.sum(),
        cost_gbp=grouped.cost_gbp.sum().round(2),
    )


def build_mart(inputs: MartInputs) -> None:
    """Publish the activity mart's tables (see contract.yml and docs/marts/activity.md)."""
    persons = stage_persons(inputs)
    # The two largest person-grain tables of all marts: an incremental build refreshes the changed
    # persons' rows only. (Tried on admissions, registers and diabetes care too: the persons' filter
    # does not reach their scans through unions and joins, and rebuilding them whole was cheaper.)
    classified = inputs.publish(
        "activity__encounter", classify_encounters(stage_encounters(inputs)), by_person=True
    )
    dated = classified.filter(~classified.excluded_flag).join(persons, "person_id")
    person_month = dated.group_by(["person_id", "month", "setting_group"]).aggregate(
        contact_count=dated.count(),
        bed_days=dated.bed_days.sum(),
        cost_gbp=dated.cost_gbp.sum().round(2),
    )
    months = stage_person_months(inputs).join(persons, "person_id")
    population = months.group_by(["practice_code", "neighbourhood", "month"]).aggregate(
        registered_count=months.count()
    )
    data_quality = classified.group_by(
        reason=ibis.cases((classified.excluded_flag, "no_start_date"), else_="included")
    ).aggregate(encounter_count=classified.count())
    inputs.publish("person_month", person_month, by_person=True)
    inputs.publish("practice_month", _totals(dated, ["practice_code", "neighbourhood", "month", "setting_group"]))
    inputs.publish("neighbourhood_month", _totals(dated, ["neighbourhood", "month", "setting_group"]))
    inputs.publish("practice_population", population)
    inputs.publish("data_quality", data_quality)
