"""The reporting service: a measure from the warehouse, ready for the CLI, dashboards or export."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from joinedup.reporting.exports import protect_measure
from joinedup.reporting.funnel import funnel_limits
from joinedup.reporting.measures import Dimension, MeasureResult, compute_measure, neighbourhood_trends
from joinedup.settings import Settings
from joinedup.warehouse import WarehouseError, open_warehouse

# Sizes at which the funnel's limits are given, for drawing its curves.
FUNNEL_CURVE_POINTS = 40


def _open(settings: Settings) -> Any:
    if not settings.warehouse_path.exists():
        raise WarehouseError("no warehouse yet: run `joinedup warehouse build` first")
    return open_warehouse(settings)


def report_measure(settings: Settings, *, measure: str, by: Dimension) -> MeasureResult:
    """Compute ``measure`` by practice, neighbourhood or month from the built warehouse.

    Raises:
        WarehouseError: no warehouse has been built yet (run ``joinedup warehouse build``).
        WarehouseInputError: unknown measure or dimension.
    """
    connection = _open(settings)
    try:
        return compute_measure(connection, measure, by)
    finally:
        connection.disconnect()


def report_neighbourhood_trends(settings: Settings, *, measure: str) -> dict[str, MeasureResult]:
    """The measure by month for each neighbourhood (small multiples), from the built warehouse.

    Raises:
        WarehouseError: no warehouse has been built yet.
        WarehouseInputError: unknown measure, or one without a monthly series by neighbourhood.
    """
    connection = _open(settings)
    try:
        return neighbourhood_trends(connection, measure)
    finally:
        connection.disconnect()


def measure_document(result: MeasureResult) -> dict[str, Any]:
    """The result as JSON-ready data, disclosure control applied to every count that leaves.

    Charts are drawn from this document only, so a point is plotted only where its row is
    released: a suppressed month or practice is a gap (``value`` None), never a point.
    """
    rows = protect_measure(result)
    released = {row.area: row for row in rows}
    document: dict[str, Any] = {
        "measure": result.measure.name,
        "description": result.measure.description,
        "unit": result.measure.unit,
        "by": result.by,
        "disclosure_control": "counts 1-7 suppressed, others rounded to the nearest 5",
        "rows": [asdict(row) for row in rows],
    }
    if result.spc is not None:
        spc = result.spc
        document["spc"] = {
            "mean": spc.mean,
            "upper_process_limit": spc.upper_process_limit,
            "lower_process_limit": spc.lower_process_limit,
            "variation": spc.variation,
            "assurance": spc.assurance,
            "target": spc.target,
            # Released months only: a suppressed month's reading would hint at its value.
            "special_cause_periods": [point.period for point in spc.points
                                      if point.special_cause_flag and released[point.period].value is not None],
            "points": [
                {"period": point.period, "value": released[point.period].value, "point_type": point.point_type}
                for point in spc.points
            ],
        }
    if result.funnel is not None:
        funnel = result.funnel
        units = [
            {"label": unit.label, "denominator": released[unit.label].denominator,
             "value": released[unit.label].value, "position": unit.position}
            for unit in funnel.units
            if not released[unit.label].suppressed_flag
        ]
        sizes = [float(unit["denominator"]) for unit in units if unit["denominator"]]
        document["funnel"] = {
            "target": funnel.target,
            # Released units only, as for special-cause periods.
            "outliers": {unit.label: unit.position for unit in funnel.units
                         if unit.position != "within" and not released[unit.label].suppressed_flag},
            "units": units,
            "limits": _funnel_curve(result, max(sizes) if sizes else 0.0),
        }
    return document


def _funnel_curve(result: MeasureResult, largest: float) -> list[dict[str, float]]:
    """The funnel's 95 % and 99.8 % limits from a small size up to ``largest`` (an even spread)."""
    assert result.funnel is not None
    if largest <= 0:
        return []
    smallest = max(largest / FUNNEL_CURVE_POINTS, 1.0)
    step = (largest - smallest) / (FUNNEL_CURVE_POINTS - 1)
    curve = []
    for index in range(FUNNEL_CURVE_POINTS):
        size = smallest + index * step
        lower_998, lower_95, upper_95, upper_998 = funnel_limits(result.funnel, size)
        curve.append({"denominator": size, "lower_998": lower_998, "lower_95": lower_95, "upper_95": upper_95,
                      "upper_998": upper_998})
    return curve
