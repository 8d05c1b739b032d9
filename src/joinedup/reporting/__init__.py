"""Dashboards computed from the warehouse: SPC charts (Making Data Count), funnel plots, panel aims,
disclosure-controlled exports. May import risk, warehouse, governance and below; never web or cli.
"""

from joinedup.reporting.exports import FORMATS, export_measure, protect_measure
from joinedup.reporting.funnel import FunnelPlot, FunnelUnit, funnel_limits, funnel_plot
from joinedup.reporting.measures import (
    MEASURES,
    Measure,
    MeasureResult,
    MeasureRow,
    compute_measure,
    find_measure,
    neighbourhood_small_multiples,
    neighbourhood_trends,
)
from joinedup.reporting.reports import measure_document, report_measure, report_neighbourhood_trends
from joinedup.reporting.spc import SpcChart, SpcPoint, xmr_chart

__all__ = [
    "FORMATS",
    "MEASURES",
    "FunnelPlot",
    "FunnelUnit",
    "Measure",
    "MeasureResult",
    "MeasureRow",
    "SpcChart",
    "SpcPoint",
    "compute_measure",
    "export_measure",
    "find_measure",
    "funnel_limits",
    "funnel_plot",
    "measure_document",
    "neighbourhood_small_multiples",
    "neighbourhood_trends",
    "protect_measure",
    "report_measure",
    "report_neighbourhood_trends",
    "xmr_chart",
]
