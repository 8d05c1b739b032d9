"""Register rules: code-list matching, register membership, care processes, HbA1c control, duplicates."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import yaml

from joinedup.warehouse.marts._shared import match_codes

HERE = Path(__file__).parent
DUPLICATE_WINDOW_DAYS = 14
HBA1C_POOR_CONTROL_MMOL_MOL = 75.0


@cache
def codelists() -> dict[str, Any]:
    """The register, care-process and duplicate-test code lists (codelists.yml)."""
    with (HERE / "codelists.yml").open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


@cache
def aims() -> tuple[dict[str, Any], ...]:
    """The diabetes panel's aims (aims.yml)."""
    with (HERE / "aims.yml").open(encoding="utf-8") as handle:
        return tuple(yaml.safe_load(handle)["aims"])


def register_names() -> tuple[str, ...]:
    """Every register, in the order the code lists give."""
    return tuple(codelists()["registers"])


def register_members(diagnoses: ir.Table, patients: ir.Table, codelist: ir.Table) -> ir.Table:
    """Persons on each register: a matching diagnosis ever recorded, alive on the reporting date."""
    matched = match_codes(diagnoses, codelist, "register", "register")
    members = matched.group_by(["person_id", "register"]).aggregate(first_recorded_date=matched.recorded_date.min())
    return members.join(patients, "person_id")


def audit_year_start(as_of: date) -> date:
    """The first day of the audit year that ends on ``as_of`` (the 12 months up to it)."""
    try:
        previous = as_of.replace(year=as_of.year - 1)
    except ValueError:  # 29 February
        previous = as_of.replace(year=as_of.year - 1, day=28)
    return previous + timedelta(days=1)


def hba1c_mmol_mol(tests: ir.Table) -> ir.FloatingValue:
    """HbA1c in mmol/mol; a value in % (DCCT) is converted by the IFCC master equation."""
    unit = tests.unit.fill_null("").lower()
    return unit.contains("%").ifelse((tests.value_num - 2.15) * 10.929, tests.value_num)


def care_process_tests(observations: ir.Table, codelist: ir.Table, as_of: date) -> ir.Table:
    """Observations in the audit year that count as one of the eight care processes."""
    start = audit_year_start(as_of)
    in_year = observations.filter(observations.effective_date >= ibis.literal(start))
    return match_codes(in_year, codelist, "care_process", "care_process")


def duplicate_tests(observations: ir.Table, codelist: ir.Table) -> ir.Table:
    """Secondary-care laboratory tests repeating a primary-care test of the same kind within 14 days.

    One row per duplicated secondary-care test (person, test, date), either side of the primary test.
    """
    tests = match_codes(observations, codelist, "duplicate_test", "test")
    primary = tests.filter(tests.care_setting == "primary").select(
        primary_person_id=tests.person_id, primary_test=tests.test, primary_date=tests.effective_date
    )
    secondary = tests.filter(tests.care_setting == "secondary").select("person_id", "test", "effective_date")
    pairs = secondary.join(
        primary,
        [
            secondary.person_id == primary.primary_person_id,
            secondary.test == primary.primary_test,
            secondary.effective_date >= primary.primary_date - ibis.interval(days=DUPLICATE_WINDOW_DAYS),
            secondary.effective_date <= primary.primary_date + ibis.interval(days=DUPLICATE_WINDOW_DAYS),
        ],
    )
    return pairs.select("person_id", "test", "effective_date").distinct()
