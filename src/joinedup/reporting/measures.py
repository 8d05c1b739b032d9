"""Population health measures read from the warehouse marts, by practice, neighbourhood or month.

Each measure is data: the mart table it reads, its numerator and denominator columns, and the scale
that turns their ratio into the published unit. Rates from monthly tables use person-months as the
denominator and are published per 1,000 person-years (× 12,000).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from joinedup.reporting.funnel import FunnelPlot, funnel_plot
from joinedup.reporting.spc import Improvement, SpcChart, xmr_chart
from joinedup.warehouse import WarehouseInputError

Dimension = Literal["practice", "neighbourhood", "month"]
DIMENSION_COLUMNS: dict[str, str] = {"practice": "practice_code", "neighbourhood": "neighbourhood", "month": "month"}


@dataclass(frozen=True)
class Measure:
    """How one measure is computed from a mart table."""

    name: str
    description: str
    schema: str
    table: str
    numerator: str
    denominator: str
    scale: float
    unit: str
    improvement: Improvement
    dimensions: tuple[Dimension, ...]
    funnel_kind: Literal["proportion", "rate"]
    target: float | None = None


_MONTHLY: tuple[Dimension, ...] = ("practice", "neighbourhood", "month")
_STATIC: tuple[Dimension, ...] = ("practice", "neighbourhood")

MEASURES: dict[str, Measure] = {
    measure.name: measure
    for measure in (
        Measure("emergency_admissions_per_1000", "Emergency admissions per 1,000 person-years (crude)",
                "outcomes", "practice_month", "emergency_admission_count", "registered_count", 12000.0,
                "per 1,000 person-years", "decrease", _MONTHLY, "rate"),
        Measure("ae_attendances_per_1000", "A&E attendances per 1,000 person-years", "outcomes", "practice_month",
                "ae_attendance_count", "registered_count", 12000.0, "per 1,000 person-years", "decrease", _MONTHLY,
                "rate"),
        Measure("acs_admissions_per_1000", "Emergency admissions for chronic ambulatory-care-sensitive conditions "
                "per 1,000 person-years", "outcomes", "practice_month", "acs_admission_count", "registered_count",
                12000.0, "per 1,000 person-years", "decrease", _MONTHLY, "rate"),
        Measure("readmission_30d_pct", "Emergency readmissions within 30 days of discharge, % of index discharges",
                "outcomes", "practice_month", "readmission_30d_count", "index_discharge_count", 100.0, "%",
                "decrease", _MONTHLY, "proportion"),
        Measure("diabetes_hba1c_75_plus_pct", "People with diabetes whose latest HbA1c is 75 mmol/mol or more, %",
                "registers", "diabetes_practice", "hba1c_75_plus_count", "hba1c_measured_count", 100.0, "%",
                "decrease", _STATIC, "proportion", 15.0),
        Measure("diabetes_all_eight_care_processes_pct", "People with diabetes with all eight care processes, %",
                "registers", "diabetes_practice", "all_eight_care_processes_count", "diabetes_register_count",
                100.0, "%", "increase", _STATIC, "proportion", 60.0),
    )
}


@dataclass(frozen=True)
class MeasureRow:
    """The measure for one practice, neighbourhood or month."""

    area: str
    numerator: float
    denominator: float
    value: float | None


@dataclass(frozen=True)
class MeasureResult:
    """A measure by one dimension, with its SPC chart (by month) or funnel plot (by place)."""

    measure: Measure
    by: Dimension
    rows: tuple[MeasureRow, ...]
    spc: SpcChart | None = None
    funnel: FunnelPlot | None = None


def find_measure(name: str) -> Measure:
    """The named measure.

    Raises:
        WarehouseInputError: no such measure (the message lists them).
    """
    try:
        return MEASURES[name]
    except KeyError:
        raise WarehouseInputError(f"unknown measure {name!r}; measures: {', '.join(sorted(MEASURES))}") from None


def compute_measure(connection: Any, name: str, by: Dimension) -> MeasureResult:
    """Compute a measure by practice, neighbourhood or month from an Ibis connection to the warehouse.

    By month the result carries an XmR chart; by practice or neighbourhood a funnel plot.

    Raises:
        WarehouseInputError: unknown measure, or a dimension it does not have.
    """
    measure = find_measure(name)
    if by not in measure.dimensions:
        raise WarehouseInputError(f"{name} is not available by {by}; by {', '.join(measure.dimensions)}")
    table = connection.table(measure.table, database=measure.schema)
    key = DIMENSION_COLUMNS[by]
    grouped = table.group_by(area=table[key]).aggregate(
        numerator=table[measure.numerator].sum().cast("float64"),
        denominator=table[measure.denominator].sum().cast("float64"),
    )
    result: pa.Table = connection.to_pyarrow(grouped.order_by("area"))
    rows = tuple(
        MeasureRow(
            area=str(row["area"]),
            numerator=row["numerator"] or 0.0,
            denominator=row["denominator"] or 0.0,
            value=(row["numerator"] or 0.0) * measure.scale / row["denominator"] if row["denominator"] else None,
        )
        for row in result.to_pylist()
    )
    if by == "month":
        charted = [row for row in rows if row.value is not None]
        spc = (
            xmr_chart([row.area for row in charted], [float(row.value or 0.0) for row in charted],
                      improvement=measure.improvement, target=measure.target)
            if len(charted) >= 2
            else None
        )
        return MeasureResult(measure=measure, by=by, rows=rows, spc=spc)
    units = [(row.area, row.numerator, row.denominator) for row in rows if row.denominator > 0]
    funnel = funnel_plot(units, kind=measure.funnel_kind, scale=measure.scale) if units else None
    return MeasureResult(measure=measure, by=by, rows=rows, funnel=funnel)


def neighbourhood_trends(connection: Any, name: str) -> dict[str, MeasureResult]:
    """The measure by month for each neighbourhood, each with its XmR chart: small multiples.

    Same measure, same scale, one result per neighbourhood (its rows keep the counts, so
    disclosure control can be applied to each point before it is shown).

    Raises:
        WarehouseInputError: unknown measure, or one without a monthly series by neighbourhood.
    """
    measure = find_measure(name)
    if "month" not in measure.dimensions or "neighbourhood" not in measure.dimensions:
        raise WarehouseInputError(f"{name} has no monthly series by neighbourhood")
    table = connection.table(measure.table, database=measure.schema)
    grouped = table.group_by(["neighbourhood", "month"]).aggregate(
        numerator=table[measure.numerator].sum().cast("float64"),
        denominator=table[measure.denominator].sum().cast("float64"),
    )
    series: dict[str, list[MeasureRow]] = {}
    for row in connection.to_pyarrow(grouped.order_by(["neighbourhood", "month"])).to_pylist():
        numerator, denominator = row["numerator"] or 0.0, row["denominator"] or 0.0
        value = numerator * measure.scale / denominator if denominator else None
        series.setdefault(str(row["neighbourhood"]), []).append(
            MeasureRow(area=str(row["month"]), numerator=numerator, denominator=denominator, value=value)
        )
    trends = {}
    for area, rows in series.items():
        charted = [row for row in rows if row.value is not None]
        spc = (
            xmr_chart([row.area for row in charted], [float(row.value or 0.0) for row in charted],
                      improvement=measure.improvement, target=measure.target)
            if len(charted) >= 2
            else None
        )
        trends[area] = MeasureResult(measure=measure, by="month", rows=tuple(rows), spc=spc)
    return trends


def neighbourhood_small_multiples(connection: Any, name: str) -> dict[str, SpcChart | None]:
    """One monthly XmR chart per neighbourhood, for small multiples (same measure, same scale).

    Raises:
        WarehouseInputError: unknown measure, or one without a monthly series.
    """
    return {area: result.spc for area, result in neighbourhood_trends(connection, name).items()}


__all__ = ["MEASURES", "Measure", "MeasureResult", "MeasureRow", "compute_measure", "find_measure",
           "neighbourhood_small_multiples", "neighbourhood_trends"]
