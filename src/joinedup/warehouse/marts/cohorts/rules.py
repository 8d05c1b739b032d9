"""Cohort rules: markers from code lists, moderate/severe frailty over 75, multiple long-term conditions."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import yaml

from joinedup.warehouse.marts._shared import match_codes

OLDER_AGE = 75
MULTIPLE_LTC_MINIMUM = 2
MARKERS = ("care_home", "housebound", "end_of_life")


@cache
def codelists() -> dict[str, Any]:
    """The cohort marker code lists (codelists.yml)."""
    with (Path(__file__).parent / "codelists.yml").open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def marked_persons(coded: ir.Table, codelist: ir.Table) -> ir.Table:
    """One row per person and marker (care_home, housebound, end_of_life) they carry."""
    return match_codes(coded, codelist, "cohort_marker", "marker").select("person_id", "marker").distinct()


def frail_flag(efi_category: ir.StringValue, available: ir.BooleanValue) -> ir.BooleanValue:
    """Moderate or severe frailty by eFI; null where no eFI score exists (flagged, not guessed)."""
    frail = efi_category.isin(codelists()["frailty_moderate_severe"])
    return ibis.cases((available, frail.fill_null(False)), else_=ibis.null("boolean"))


def ltc_counts(person_register: ir.Table) -> ir.Table:
    """How many long-term condition registers each person is on."""
    return person_register.group_by("person_id").aggregate(ltc_count=person_register.register.nunique())
