"""The reporting service: a measure from the warehouse, ready for the CLI, dashboards or export."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from joinedup.reporting.exports import protect_measure
from joinedup.reporting.measures import Dimension, MeasureResult, compute_measure
from joinedup.settings import Settings
from joinedup.warehouse import WarehouseError, open_warehouse


def report_measure(settings: Settings, *, measure: str, by: Dimension) -> MeasureResult:
    """Compute ``measure`` by practice, neighbourhood or month from the built warehouse.

    Raises:
        WarehouseError: no warehouse has been built yet (run ``joinedup warehouse build``).
        WarehouseInputError: unknown measure or dimension.
    """
    if not settings.warehouse_path.exists():
        raise WarehouseError("no warehouse yet: run `joinedup warehouse build` first")
    connection = open_warehouse(settings)
    try:
        return compute_measure(connection, measure, by)
    finally:
        connection.disconnect()


def measure_document(result: MeasureResult) -> dict[str, Any]:
    """The result as JSON-ready data, disclosure control applied to every count that leaves."""
    document: dict[str, Any] = {
        "measure": result.measure.name,
        "description": result.measure.description,
        "unit": result.measure.unit,
        "by": result.by,
        "disclosure_control": "counts 1-7 suppressed, others rounded to the nearest 5",
        "rows": [asdict(row) for row in protect_measure(result)],
    }
    if result.spc is not None:
        spc = result.spc
        document["spc"] = {
            "mean": spc.mean,
            "upper_process_limit": spc.upper_process_limit,
            "lower_process_limit": spc.lower_process_limit,
            "variation": spc.variation,
            "assurance": spc.assurance,
            "special_cause_periods": [point.period for point in spc.points if point.special_cause_flag],
        }
    if result.funnel is not None:
        document["funnel"] = {
            "target": result.funnel.target,
            "outliers": {unit.label: unit.position for unit in result.funnel.units if unit.position != "within"},
        }
    return document
