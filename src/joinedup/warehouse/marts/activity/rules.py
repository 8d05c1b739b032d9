"""Activity rules: which setting an encounter counts under, its month, its bed days."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from joinedup.warehouse.core import first_of_month

# Every setting group the mart reports, in the order tables and dashboards list them.
SETTING_GROUPS = (
    "gp",
    "ae",
    "emergency_admission",
    "elective_admission",
    "other_admission",
    "outpatient",
    "community",
    "social_care",
    "telehealth",
    "voluntary",
)


def setting_group(encounter: ir.Table) -> ir.StringValue:
    """Admissions split by method (emergency, elective, other); other settings as recorded."""
    admitted = encounter.setting == "inpatient"
    return ibis.cases(
        (admitted & (encounter.admission_method == "emergency"), "emergency_admission"),
        (admitted & (encounter.admission_method == "elective"), "elective_admission"),
        (admitted, "other_admission"),
        (encounter.setting.isin(SETTING_GROUPS), encounter.setting),
        else_="other",
    )


def bed_days(encounter: ir.Table) -> ir.IntegerValue:
    """Nights in hospital (discharge date minus admission date; 0 for day cases and non-admissions)."""
    return ibis.cases(
        (encounter.setting == "inpatient", encounter.length_of_stay_days.fill_null(0)), else_=0
    ).cast("int64")


def activity_month(encounter: ir.Table) -> ir.DateValue:
    """The month the encounter started in (admissions count, with all their bed days, at admission)."""
    return first_of_month(encounter.start_date)


def classify_encounters(encounter: ir.Table) -> ir.Table:
    """Each encounter with its setting group, month, bed days and cost; undated ones flagged out."""
    return encounter.mutate(
        setting_group=setting_group(encounter),
        month=activity_month(encounter),
        bed_days=bed_days(encounter),
        cost_gbp=encounter.cost_gbp.fill_null(0.0),
        excluded_flag=encounter.start_date.isnull(),
    )
