"""Outcomes: admissions with their flags, deaths, and rates per practice by year and by month."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from joinedup.warehouse.core import first_of_month
from joinedup.warehouse.marts import MartInputs
from joinedup.warehouse.marts._shared import attach, per_thousand, percentage, standardise
from joinedup.warehouse.marts.outcomes.rules import (
    banded_events,
    banded_person_months,
    bed_days_in_last_days_of_life,
    died_in_spell_flag,
    flag_spells,
    readmission_flags,
)
from joinedup.warehouse.marts.outcomes.staging import (
    stage_admissions,
    stage_ae_attendances,
    stage_person_months,
    stage_persons,
)

PLACE = ["practice_code", "neighbourhood"]
STRATA = ["year", "sex", "age_band"]


def _admission(inputs: MartInputs, persons: ir.Table) -> ir.Table:
    flagged = flag_spells(stage_admissions(inputs), persons, inputs.core["codelist"], inputs.as_of)
    readmitted = readmission_flags(flagged)
    with_readmissions = attach(flagged, readmitted, ["encounter_id"], counts=("readmission_count",))
    return with_readmissions.select(
        "encounter_id", "person_id", "practice_code", "neighbourhood", "admission_method", "start_date",
        "end_date", "length_of_stay_days", "primary_diagnosis_code", "acs_flag", "died_in_spell_flag",
        "index_flag", "index_exclusion_reason",
        ibis.cases(
            (with_readmissions.index_flag, with_readmissions.readmission_count > 0),
            else_=ibis.null("boolean"),
        ).name("readmitted_30d_flag"),
    )


def _decedent(inputs: MartInputs, persons: ir.Table) -> ir.Table:
    died = persons.filter(persons.death_date.notnull(), persons.death_date <= inputs.as_of)
    spells = stage_admissions(inputs)
    bed_days = bed_days_in_last_days_of_life(spells, died.select("person_id", "death_date"))
    in_hospital = spells.join(died.select("person_id", "death_date"), "person_id")
    in_hospital = in_hospital.filter(died_in_spell_flag(in_hospital, in_hospital))
    hospital_deaths = in_hospital.select("person_id").distinct().mutate(died_in_hospital_flag=True)
    decedent = attach(died, bed_days, ["person_id"], counts=("bed_days_last_90_days",))
    decedent = attach(decedent, hospital_deaths, ["person_id"])
    in_hospital_flag = decedent.died_in_hospital_flag.fill_null(False)
    return decedent.select(
        "person_id", "practice_code", "neighbourhood", "death_date", "bed_days_last_90_days",
        in_hospital_flag.name("died_in_hospital_flag"),
        (~in_hospital_flag).name("died_in_usual_residence_flag"),
    )


def _event_counts(events: ir.Table, keys: list[str]) -> ir.Table:
    return events.group_by(keys).aggregate(event_count=events.count())


def _practice_year(
    inputs: MartInputs, persons: ir.Table, admission: ir.Table, decedent: ir.Table
) -> ir.Table:
    population = banded_person_months(stage_person_months(inputs), persons)
    population = population.group_by([*PLACE, *STRATA]).aggregate(person_months=population.count())
    emergency = banded_events(admission.filter(admission.admission_method == "emergency"), persons)
    emergency = emergency.select(*PLACE, *STRATA)
    standardised = standardise(population, _event_counts(emergency, [*PLACE, *STRATA]), PLACE)
    ae = banded_events(stage_ae_attendances(inputs), persons)
    ae_counts = ae.group_by([*PLACE, "year"]).aggregate(ae_attendance_count=ae.count())
    acs = admission.filter(admission.acs_flag).mutate(year=admission.start_date.year())
    acs_counts = acs.group_by([*PLACE, "year"]).aggregate(acs_admission_count=acs.count())
    ended = admission.filter(admission.end_date.notnull()).mutate(year=admission.end_date.year())
    stays = ended.group_by([*PLACE, "year"]).aggregate(
        spells_ended_count=ended.count(),
        mean_length_of_stay_days=ended.length_of_stay_days.mean().round(4),
        index_discharge_count=ended.index_flag.cast("int64").sum(),
        readmission_30d_count=ended.readmitted_30d_flag.fill_null(False).cast("int64").sum(),
    )
    deaths = decedent.mutate(year=decedent.death_date.year())
    death_counts = deaths.group_by([*PLACE, "year"]).aggregate(
        death_count=deaths.count(),
        death_in_usual_residence_count=deaths.died_in_usual_residence_flag.cast("int64").sum(),
        mean_bed_days_last_90_days=deaths.bed_days_last_90_days.mean().round(4),
    )
    base = standardised.select(
        *PLACE,
        "year",
        (standardised.person_months.cast("float64") / 12.0).round(4).name("person_years"),
        standardised.event_count.name("emergency_admission_count"),
        standardised.expected_count.round(4).name("expected_emergency_admission_count"),
        per_thousand(standardised.event_count * 12, standardised.person_months).name(
            "emergency_admissions_per_1000"
        ),
        (
            standardised.event_count.cast("float64")
            / standardised.expected_count.nullif(0.0)
            * standardised.borough_rate
            * 12000.0
        )
        .round(4)
        .name("emergency_admissions_per_1000_standardised"),
        standardised.person_months,
    )
    keys = [*PLACE, "year"]
    table = attach(base, ae_counts, keys, counts=("ae_attendance_count",))
    table = attach(table, acs_counts, keys, counts=("acs_admission_count",))
    table = attach(
        table, stays, keys, counts=("spells_ended_count", "index_discharge_count", "readmission_30d_count")
    )
    table = attach(table, death_counts, keys, counts=("death_count", "death_in_usual_residence_count"))
    return table.select(
        *keys,
        "person_years",
        "emergency_admission_count",
        "expected_emergency_admission_count",
        "emergency_admissions_per_1000",
        "emergency_admissions_per_1000_standardised",
        "ae_attendance_count",
        per_thousand(table.ae_attendance_count * 12, table.person_months).name("ae_attendances_per_1000"),
        "acs_admission_count",
        per_thousand(table.acs_admission_count * 12, table.person_months).name("acs_admissions_per_1000"),
        "spells_ended_count",
        "mean_length_of_stay_days",
        "index_discharge_count",
        "readmission_30d_count",
        percentage(table.readmission_30d_count, table.index_discharge_count).name("readmission_30d_pct"),
        "death_count",
        "death_in_usual_residence_count",
        percentage(table.death_in_usual_residence_count, table.death_count).name(
            "death_in_usual_residence_pct"
        ),
        "mean_bed_days_last_90_days",
    )


def _practice_month(inputs: MartInputs, persons: ir.Table, admission: ir.Table) -> ir.Table:
    months = stage_person_months(inputs).join(persons, "person_id")
    base = months.group_by([*PLACE, "month"]).aggregate(registered_count=months.count())
    keys = [*PLACE, "month"]
    started = admission.mutate(month=first_of_month(admission.start_date))
    admissions = started.group_by(keys).aggregate(
        emergency_admission_count=(started.admission_method == "emergency").cast("int64").sum(),
        acs_admission_count=started.acs_flag.cast("int64").sum(),
    )
    ae = stage_ae_attendances(inputs).join(persons, "person_id")
    ae = ae.mutate(month=first_of_month(ae.start_date))
    ae_counts = ae.group_by(keys).aggregate(ae_attendance_count=ae.count())
    index = admission.filter(admission.index_flag).mutate(month=first_of_month(admission.end_date))
    readmissions = index.group_by(keys).aggregate(
        index_discharge_count=index.count(),
        readmission_30d_count=index.readmitted_30d_flag.cast("int64").sum(),
    )
    table = attach(base, admissions, keys, counts=("emergency_admission_count", "acs_admission_count"))
    table = attach(table, ae_counts, keys, counts=("ae_attendance_count",))
    return attach(table, readmissions, keys, counts=("index_discharge_count", "readmission_30d_count"))


def build_mart(inputs: MartInputs) -> None:
    """Publish the outcomes mart's tables (see contract.yml and docs/marts/outcomes.md)."""
    persons = inputs.publish("outcomes__person", stage_persons(inputs))
    admission = inputs.publish("admission", _admission(inputs, persons))
    decedent = inputs.publish("decedent", _decedent(inputs, persons))
    inputs.publish("practice_year", _practice_year(inputs, persons, admission, decedent))
    inputs.publish("practice_month", _practice_month(inputs, persons, admission))
