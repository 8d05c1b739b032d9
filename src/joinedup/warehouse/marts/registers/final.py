"""Long-term condition registers and quality: prevalence, diabetes care, duplicated tests, panel aims."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from joinedup.warehouse.core import first_of_month
from joinedup.warehouse.marts import MartInputs
from joinedup.warehouse.marts._shared import attach, percentage, standardise
from joinedup.warehouse.marts.registers.rules import (
    HBA1C_POOR_CONTROL_MMOL_MOL,
    aims,
    care_process_tests,
    codelists,
    duplicate_tests,
    hba1c_mmol_mol,
    register_members,
    register_names,
)
from joinedup.warehouse.marts.registers.staging import stage_diagnoses, stage_list, stage_observations

PLACE = ["practice_code", "neighbourhood"]


def _prevalence(patients: ir.Table, members: ir.Table) -> ir.Table:
    # Every person counts towards every register's list size (an array unnested, no in-memory table).
    population = patients.mutate(register=ibis.array(list(register_names())).unnest())
    population = population.group_by([*PLACE, "register", "sex", "age_band"]).aggregate(
        person_months=population.count()
    )
    events = members.group_by([*PLACE, "register", "sex", "age_band"]).aggregate(event_count=members.count())
    expected = standardise(population, events, PLACE, period="register")
    return expected.select(
        *PLACE,
        "register",
        expected.person_months.name("list_size"),
        expected.event_count.name("register_count"),
        percentage(expected.event_count, expected.person_months).name("observed_prevalence_pct"),
        expected.expected_count.round(4).name("expected_register_count"),
        percentage(expected.expected_count, expected.person_months).name("expected_prevalence_pct"),
    )


def _diabetes_care(inputs: MartInputs, patients: ir.Table, members: ir.Table) -> ir.Table:
    diabetic = members.filter(members.register == "diabetes").select("person_id", *PLACE)
    tests = care_process_tests(stage_observations(inputs), inputs.core["codelist"], inputs.as_of)
    tests = tests.semi_join(diabetic, "person_id")
    processes = list(codelists()["care_processes"])
    done = tests.group_by("person_id").aggregate(
        **{f"{name}_flag": (tests.care_process == name).any() for name in processes}
    )
    hba1c = tests.filter(tests.care_process == "hba1c", tests.value_num.notnull())
    hba1c = hba1c.mutate(mmol_mol=hba1c_mmol_mol(hba1c))
    # The latest test counts; of two the same day, the higher (a deterministic choice on any engine).
    last_day = hba1c.group_by("person_id").aggregate(effective_date=hba1c.effective_date.max())
    latest = hba1c.join(last_day, ["person_id", "effective_date"])
    latest = latest.group_by("person_id").aggregate(latest_hba1c_mmol_mol=latest.mmol_mol.max())
    care = attach(diabetic, done, ["person_id"])
    care = attach(care, latest, ["person_id"])
    flags = {f"{name}_flag": care[f"{name}_flag"].fill_null(False) for name in processes}
    count = sum((flag.cast("int64") for flag in flags.values()), ibis.literal(0, "int64"))
    return care.select(
        "person_id",
        *PLACE,
        *[flag.name(name) for name, flag in flags.items()],
        count.name("care_process_count"),
        (count == len(processes)).name("all_eight_flag"),
        care.latest_hba1c_mmol_mol.round(1).name("latest_hba1c_mmol_mol"),
        (care.latest_hba1c_mmol_mol >= HBA1C_POOR_CONTROL_MMOL_MOL).name("hba1c_75_plus_flag"),
    )


def _diabetes_summary(care: ir.Table, keys: list[str]) -> ir.Table:
    counted = care.group_by(keys).aggregate(
        diabetes_register_count=care.count(),
        hba1c_recorded_count=care.hba1c_flag.cast("int64").sum(),
        blood_pressure_recorded_count=care.blood_pressure_flag.cast("int64").sum(),
        all_eight_care_processes_count=care.all_eight_flag.cast("int64").sum(),
        hba1c_measured_count=care.latest_hba1c_mmol_mol.count(),
        hba1c_75_plus_count=care.hba1c_75_plus_flag.fill_null(False).cast("int64").sum(),
    )
    return counted.mutate(
        hba1c_recorded_pct=percentage(counted.hba1c_recorded_count, counted.diabetes_register_count),
        blood_pressure_recorded_pct=percentage(
            counted.blood_pressure_recorded_count, counted.diabetes_register_count
        ),
        all_eight_care_processes_pct=percentage(
            counted.all_eight_care_processes_count, counted.diabetes_register_count
        ),
        hba1c_75_plus_pct=percentage(counted.hba1c_75_plus_count, counted.hba1c_measured_count),
    )


def _aims(practice: ir.Table, borough: ir.Table) -> ir.Table:
    levels = [
        practice.mutate(level=ibis.literal("practice"), area_code=practice.practice_code),
        borough.mutate(level=ibis.literal("borough"), area_code=ibis.literal("borough")),
    ]
    rows: list[ir.Table] = []
    for summary in levels:
        for aim in aims():
            value = summary[aim["aim"]]
            target = float(aim["target_pct"])
            met = value >= target if aim["direction"] == "higher_is_better" else value <= target
            rows.append(
                summary.select(
                    "level",
                    "area_code",
                    aim=ibis.literal(aim["aim"]),
                    value_pct=value,
                    target_pct=ibis.literal(target),
                    direction=ibis.literal(aim["direction"]),
                    met_flag=met,
                )
            )
    return ibis.union(*rows)


def _duplicates(inputs: MartInputs, patients: ir.Table) -> ir.Table:
    duplicated = duplicate_tests(stage_observations(inputs), inputs.core["codelist"])
    duplicated = duplicated.join(patients.select("person_id", *PLACE), "person_id")
    duplicated = duplicated.mutate(month=first_of_month(duplicated.effective_date))
    return duplicated.group_by([*PLACE, "month", "test"]).aggregate(duplicate_test_count=duplicated.count())


def build_mart(inputs: MartInputs) -> None:
    """Publish the registers mart's tables (see contract.yml and docs/marts/registers.md)."""
    patients = inputs.publish("registers__patient", stage_list(inputs))
    members = register_members(stage_diagnoses(inputs), patients, inputs.core["codelist"])
    members = inputs.publish("registers__member", members)
    inputs.publish("person_register", members.select("person_id", *PLACE, "register", "first_recorded_date"))
    inputs.publish("practice_prevalence", _prevalence(patients, members))
    care = inputs.publish("diabetes_care", _diabetes_care(inputs, patients, members))
    practice = inputs.publish("diabetes_practice", _diabetes_summary(care, PLACE))
    borough = inputs.publish(
        "registers__diabetes_borough", _diabetes_summary(care.mutate(borough=ibis.literal("borough")), ["borough"])
    )
    inputs.publish("diabetes_aims", _aims(practice, borough))
    inputs.publish("duplicate_test", _duplicates(inputs, patients))
