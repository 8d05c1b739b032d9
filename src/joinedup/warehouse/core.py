"""The core layer: one tidy row per person, encounter, diagnosis, observation, medication, month.

Ibis definitions, run by whichever engine builds the warehouse. The tables and columns are the
interface other areas read (``core.person``, ``core.encounter``...; see docs/warehouse.md). Every
core row belongs to one linked person; rows of unlinked source patients wait for linkage.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa

# Statuses that mean the row did not happen (FHIR Encounter / Condition / MedicationRequest).
NOT_HAPPENED = ("planned", "cancelled", "entered-in-error")

CORE_TABLES = ("person", "encounter", "diagnosis", "observation", "medication", "person_month")


def first_of_month(day: ir.DateValue) -> ir.DateValue:
    """The first day of ``day``'s month, as a date on every engine (Spark's date_trunc gives a timestamp)."""
    return ibis.date(day.year(), day.month(), 1)


def _first_known(table: ir.Table, column: str) -> ir.Value:
    """The value of ``column`` from the most trusted source patient that has one."""
    return table[column].argmin(table.trust_rank, where=table[column].notnull())


def core_person(source_patient: ir.Table, organisation: ir.Table, small_area: ir.Table) -> ir.Table:
    """One row per linked person, demographics from their most trusted source.

    Trust order: the GP record first (it holds the registration), then the most recently
    updated source, then the highest source patient id (a stable tie-break on every engine).
    """
    ranked = source_patient.mutate(
        trust_rank=ibis.row_number().over(
            group_by=source_patient.person_id,
            order_by=[
                ibis.desc((source_patient.source == "gp").cast("int32")),
                ibis.desc(source_patient.recorded_at),
                ibis.desc(source_patient.source_patient_id),
            ],
        )
    )
    person = ranked.group_by("person_id").aggregate(
        birth_date=_first_known(ranked, "birth_date"),
        sex=_first_known(ranked, "sex"),
        ethnicity_code=_first_known(ranked, "ethnicity_code"),
        lsoa_code=_first_known(ranked, "lsoa_code"),
        practice_code=_first_known(ranked, "practice_code"),
        death_date=ranked.deceased_date.max(),
    )
    practices = organisation.select(
        practice_org_code=organisation.org_code, practice_neighbourhood=organisation.neighbourhood
    )
    areas = small_area.select(
        area_lsoa_code=small_area.lsoa_code,
        imd_decile=small_area.imd_decile,
        area_neighbourhood=small_area.neighbourhood,
    )
    joined = person.left_join(practices, person.practice_code == practices.practice_org_code).left_join(
        areas, person.lsoa_code == areas.area_lsoa_code
    )
    return joined.select(
        "person_id",
        "birth_date",
        "sex",
        "ethnicity_code",
        "lsoa_code",
        joined.imd_decile.cast("int64").name("imd_decile"),
        "practice_code",
        # The practice's neighbourhood (where care is organised); the home's when unregistered.
        ibis.coalesce(joined.practice_neighbourhood, joined.area_neighbourhood).name("neighbourhood"),
        "death_date",
    )


def core_encounter(encounter: ir.Table) -> ir.Table:
    """Encounters that happened, with dates, length of stay and cost."""
    happened = encounter.filter(encounter.status.isnull() | ~encounter.status.isin(NOT_HAPPENED))
    start_date = happened.start_at.date()
    end_date = happened.end_at.date()
    length_of_stay = ibis.cases(
        (happened.setting == "inpatient", end_date.delta(start_date, unit="day")), else_=ibis.null("int64")
    )
    return happened.select(
        "encounter_id",
        "person_id",
        "setting",
        "admission_method",
        start_date.name("start_date"),
        end_date.name("end_date"),
        length_of_stay.cast("int64").name("length_of_stay_days"),
        "primary_diagnosis_code",
        "primary_diagnosis_code_system",
        "org_code",
        happened.cost_gbp.cast("float64").name("cost_gbp"),
        "source",
        "discharge_destination",
    )


def core_diagnosis(condition: ir.Table) -> ir.Table:
    """Diagnoses and problems; sealed items stay out of the analytic copy."""
    kept = condition.filter(
        ~condition.sealed_flag.fill_null(False),
        condition.clinical_status.isnull() | (condition.clinical_status != "entered-in-error"),
    )
    recorded = ibis.coalesce(kept.onset_date, kept.encounter_start_at.date(), kept.received_at.date())
    return kept.select(
        "person_id",
        "code",
        "code_system",
        recorded.name("recorded_date"),
        "source",
        "clinical_status",
    )


def core_observation(observation: ir.Table) -> ir.Table:
    """Measurements and findings, one row each; sealed items stay out."""
    kept = observation.filter(~observation.sealed_flag.fill_null(False))
    return kept.select(
        "person_id",
        "code",
        "code_system",
        "value_num",
        "unit",
        kept.effective_at.date().name("effective_date"),
        "category",
        "source",
    )


def core_medication(medication: ir.Table) -> ir.Table:
    """Prescriptions and medication statements that were not entered in error."""
    kept = medication.filter(medication.status.isnull() | (medication.status != "entered-in-error"))
    return kept.select("person_id", "code", "code_system", "display", "authored_on")


def month_calendar(first: date, last: date) -> pa.Table:
    """The first day of every month from ``first``'s month to ``last``'s, as a ``month`` column."""
    months: list[date] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return pa.table({"month": pa.array(months, pa.date32())})


def core_person_month(person: ir.Table, calendar: ir.Table) -> ir.Table:
    """The person-month spine: each month of the data window the person was alive in.

    From the later of the window start and the birth month to the earlier of the window end and
    the death month. A person with no birth date is counted over the whole window.
    """
    birth_month = first_of_month(person.birth_date)
    death_month = first_of_month(person.death_date)
    joined = person.join(
        calendar,
        [
            birth_month.isnull() | (calendar.month >= birth_month),
            death_month.isnull() | (calendar.month <= death_month),
        ],
    )
    return joined.select("person_id", "month")
