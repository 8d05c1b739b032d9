"""The unit-cost table every synthetic cost comes from (``costs.csv``, documented in
docs/synthetic-data.md)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources


@cache
def unit_costs() -> dict[str, float]:
    """Unit cost in pounds by item (``gp_face_to_face``, ``emergency_spell`` …)."""
    text = resources.files("joinedup.synth").joinpath("costs.csv").read_text(encoding="utf-8")
    return {row["item"]: float(row["cost_gbp"]) for row in csv.DictReader(text.splitlines())}


def cost_table_text() -> str:
    """The table as published in ``reference/unit_costs.csv``."""
    return resources.files("joinedup.synth").joinpath("costs.csv").read_text(encoding="utf-8")
