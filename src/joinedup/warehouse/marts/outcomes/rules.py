"""Outcome rules: ACS admissions, deaths in hospital, readmissions, last-90-days bed days, standardisation."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from joinedup.warehouse.core import first_of_month
from joinedup.warehouse.marts._shared import (
    age_band,
    age_on,
    attach,
    code_system_family,
    icd10_category,
    match_codes,
)

READMISSION_DAYS = 30
LAST_DAYS_OF_LIFE = 90
# Discharge destinations meaning the patient died (HES DISDEST 79 and the word itself).
DIED_DESTINATIONS = ("died", "79", "death")


def acs_admissions(spells: ir.Table, codelist: ir.Table) -> ir.Table:
    """Emergency admissions whose primary ICD-10 diagnosis is a chronic ACS condition (acs_icd10.yml)."""
    emergency = spells.filter(spells.admission_method == "emergency", spells.primary_diagnosis_code.notnull())
    coded = emergency.select(
        "encounter_id",
        code_system_family(emergency.primary_diagnosis_code_system.fill_null("icd10")).name("code_family"),
        icd10_category(emergency.primary_diagnosis_code).name("code"),
    )
    return match_codes(coded, codelist, "acs", "acs_condition").select("encounter_id").distinct()


def died_in_spell_flag(spells: ir.Table, persons: ir.Table) -> ir.BooleanValue:
    """The spell ended in death: discharged dead, or the death date falls within the spell."""
    died_destination = spells.discharge_destination.lower().isin(DIED_DESTINATIONS).fill_null(False)
    within = (
        persons.death_date.notnull()
        & (persons.death_date >= spells.start_date)
        & (spells.end_date.isnull() | (persons.death_date <= spells.end_date))
    )
    return died_destination | within.fill_null(False)


def flag_spells(spells: ir.Table, persons: ir.Table, codelist: ir.Table, as_of: date) -> ir.Table:
    """Each spell with its ACS and death flags and whether it can index a readmission."""
    acs = acs_admissions(spells, codelist).mutate(acs_flag=ibis.literal(True))
    joined = attach(spells.join(persons, "person_id"), acs, ["encounter_id"])
    died = died_in_spell_flag(joined, joined)
    follow_up_end = as_of - timedelta(days=READMISSION_DAYS)
    reason = ibis.cases(
        (joined.end_date.isnull(), "open_spell"),
        (died, "died_in_spell"),
        (joined.end_date > ibis.literal(follow_up_end), "follow_up_incomplete"),
        else_=ibis.null("string"),
    )
    return joined.mutate(
        acs_flag=joined.acs_flag.fill_null(False),
        died_in_spell_flag=died,
        index_exclusion_reason=reason,
        index_flag=reason.isnull(),
    )


def readmission_flags(flagged: ir.Table) -> ir.Table:
    """For each index spell, whether an emergency admission began within 30 days of discharge.

    A readmission is another spell of the same person, admitted as an emergency, starting on or
    after the index discharge date and at most 30 days after it.
    """
    index = flagged.filter(flagged.index_flag).select(
        index_encounter_id=flagged.encounter_id,
        index_person_id=flagged.person_id,
        index_start_date=flagged.start_date,
        index_end_date=flagged.end_date,
    )
    later = flagged.filter(flagged.admission_method == "emergency").select(
        later_encounter_id=flagged.encounter_id,
        later_person_id=flagged.person_id,
        later_start_date=flagged.start_date,
    )
    pairs = index.join(
        later,
        [
            index.index_person_id == later.later_person_id,
            index.index_encounter_id != later.later_encounter_id,
            later.later_start_date >= index.index_end_date,
            later.later_start_date <= index.index_end_date + ibis.interval(days=READMISSION_DAYS),
            later.later_start_date >= index.index_start_date,
        ],
    )
    return pairs.group_by(encounter_id=pairs.index_encounter_id).aggregate(
        readmission_count=pairs.count()
    )


def bed_days_in_last_days_of_life(spells: ir.Table, decedents: ir.Table) -> ir.Table:
    """Per decedent, nights in hospital within the 90 days up to and including the date of death.

    Each spell contributes the days between max(admission, death - 90 days) and min(discharge,
    death), never below zero; a spell still open counts to the death date.
    """
    window_start = decedents.death_date - ibis.interval(days=LAST_DAYS_OF_LIFE)
    joined = decedents.mutate(window_start=window_start).join(spells, "person_id")
    start = ibis.greatest(joined.start_date, joined.window_start)
    end = ibis.least(joined.end_date.fill_null(joined.death_date), joined.death_date)
    nights = ibis.greatest(end.delta(start, unit="day"), 0)
    return joined.group_by("person_id").aggregate(bed_days_last_90_days=nights.sum().cast("int64"))


def banded_person_months(person_months: ir.Table, persons: ir.Table) -> ir.Table:
    """Each person-month with the person's practice, sex and age band at the month's start."""
    joined = person_months.join(persons, "person_id")
    return joined.mutate(
        year=joined.month.year(),
        age_band=age_band(age_on(joined.birth_date, joined.month)),
    )


def banded_events(events: ir.Table, persons: ir.Table) -> ir.Table:
    """Events (with ``start_date``) with the person's practice, sex and age band at the event's month."""
    joined = events.join(persons, "person_id")
    month = first_of_month(joined.start_date)
    return joined.mutate(
        month=month, year=month.year(), age_band=age_band(age_on(joined.birth_date, month))
    )
