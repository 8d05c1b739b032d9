"""Charts for the population health dashboards, drawn on the server as inline SVG.

Drawn from the reporting service's documents only (``reporting.measure_document``): a point is
plotted only where its row was released by disclosure control, so a suppressed month or practice
is a gap, never a point. No scripts (the CSP allows none inline) and no ``style`` attributes: the
look is in ``static/dashboards.css``. Each chart is an ``img`` with a title and a description that
says in words what it shows, and each point has its own title (value on hover, read by screen readers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

POINT_CLASSES = {
    "common_cause": "common",
    "special_cause_improvement": "improvement",
    "special_cause_concern": "concern",
    "special_cause_neutral": "neutral",
}
# Room above the highest value, so its point is not cut by the chart's edge.
HEADROOM = 1.05
POSITION_WORDS = {
    "above_998": "above the 99.8 % limit",
    "above_95": "above the 95 % limit",
    "within": "within the limits",
    "below_95": "below the 95 % limit",
    "below_998": "below the 99.8 % limit",
}


@dataclass(frozen=True)
class Frame:
    """Where the plot sits in the SVG, and the value ranges it shows."""

    width: float
    height: float
    x_low: float
    x_high: float
    y_low: float
    y_high: float
    left: float = 48.0
    right: float = 12.0
    top: float = 12.0
    bottom: float = 28.0

    def x(self, value: float) -> float:
        span = (self.x_high - self.x_low) or 1.0
        return self.left + (value - self.x_low) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        span = (self.y_high - self.y_low) or 1.0
        clipped = min(max(value, self.y_low), self.y_high)
        return self.height - self.bottom - (clipped - self.y_low) / span * (self.height - self.top - self.bottom)


def _number(value: float) -> str:
    return f"{value:,.1f}"


def _polyline(points: Sequence[tuple[float, float]], css: str) -> str:
    if len(points) < 2:
        return ""
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline class="{css}" points="{path}"></polyline>'


def _horizontal(frame: Frame, value: float, css: str, label: str) -> str:
    y = frame.y(value)
    return (f'<line class="{css}" x1="{frame.left:.1f}" x2="{frame.width - frame.right:.1f}" y1="{y:.1f}" '
            f'y2="{y:.1f}"><title>{escape(label)}</title></line>')


def _axes(frame: Frame, x_labels: tuple[str, str], small: bool) -> str:
    base = frame.height - frame.bottom
    parts = [
        f'<line class="app-chart__axis" x1="{frame.left}" x2="{frame.width - frame.right}" y1="{base}" y2="{base}">'
        "</line>",
        f'<line class="app-chart__axis" x1="{frame.left}" x2="{frame.left}" y1="{frame.top}" y2="{base}"></line>',
    ]
    if not small:
        parts += [
            f'<text class="app-chart__label" x="{frame.left - 6}" y="{frame.y(frame.y_high) + 4:.1f}" '
            f'text-anchor="end">{_number(frame.y_high)}</text>',
            f'<text class="app-chart__label" x="{frame.left - 6}" y="{base + 4:.1f}" text-anchor="end">'
            f"{_number(frame.y_low)}</text>",
        ]
    parts += [
        f'<text class="app-chart__label" x="{frame.left}" y="{frame.height - 8}">{escape(x_labels[0])}</text>',
        f'<text class="app-chart__label" x="{frame.width - frame.right}" y="{frame.height - 8}" text-anchor="end">'
        f"{escape(x_labels[1])}</text>",
    ]
    return "".join(parts)


def _svg(test_id: str, css: str, frame: Frame, title: str, description: str, body: str) -> Markup:
    return Markup(
        '<svg class="app-chart {css}" data-testid="{test_id}" role="img" viewBox="0 0 {w:.0f} {h:.0f}" '
        'focusable="false"><title>{title}</title><desc>{desc}</desc>{body}</svg>'
    ).format(css=css, test_id=test_id, w=frame.width, h=frame.height, title=title, desc=description,
             body=Markup(body))  # noqa: S704  # nosec B704 - built here: numbers, fixed markup, escape()d text


def spc_value_range(spc: dict[str, Any]) -> tuple[float, float]:
    """The values an SPC chart must show: its released points and its limits (never below zero)."""
    values = [float(p["value"]) for p in spc["points"] if p["value"] is not None]
    values += [spc["upper_process_limit"], max(spc["lower_process_limit"], 0.0), spc["mean"]]
    if spc.get("target") is not None:
        values.append(float(spc["target"]))
    return max(min(values), 0.0) if min(values) >= 0 else 0.0, max(values)


def spc_chart(spc: dict[str, Any], *, title: str, unit: str, value_range: tuple[float, float] | None = None,
              small: bool = False, test_id: str = "spc-chart") -> Markup:
    """An XmR chart (Making Data Count): points coloured by special cause, mean, process limits, target.

    Args:
        spc: the ``spc`` part of a measure document.
        value_range: the y range; small multiples share one so they compare at a glance.
        small: a small multiple (no value labels, smaller).
    """
    points = spc["points"]
    low, high = value_range or spc_value_range(spc)
    frame = Frame(width=240 if small else 720, height=120 if small else 320, x_low=0,
                  x_high=max(len(points) - 1, 1), y_low=low, y_high=(high or 1.0) * HEADROOM,
                  left=8 if small else 48)
    body = [
        _horizontal(frame, spc["upper_process_limit"], "app-chart__limit",
                    f"Upper process limit {_number(spc['upper_process_limit'])} {unit}"),
        _horizontal(frame, max(spc["lower_process_limit"], low), "app-chart__limit",
                    f"Lower process limit {_number(spc['lower_process_limit'])} {unit}"),
        _horizontal(frame, spc["mean"], "app-chart__mean", f"Mean {_number(spc['mean'])} {unit}"),
    ]
    if spc.get("target") is not None:
        body.append(_horizontal(frame, float(spc["target"]), "app-chart__target",
                                f"Target {_number(float(spc['target']))} {unit}"))
    segment: list[tuple[float, float]] = []
    marks = []
    released = suppressed = 0
    for index, point in enumerate(points):
        if point["value"] is None:
            # Suppressed by disclosure control: a gap in the line, no point.
            body.append(_polyline(segment, "app-chart__line"))
            segment = []
            suppressed += 1
            continue
        released += 1
        x, y = frame.x(index), frame.y(float(point["value"]))
        segment.append((x, y))
        kind = POINT_CLASSES.get(point["point_type"], "common")
        marks.append(
            f'<circle class="app-chart__point app-chart__point--{kind}" cx="{x:.1f}" cy="{y:.1f}" '
            f'r="{2.5 if small else 4}"><title>{escape(point["period"][:7])}: {_number(float(point["value"]))} '
            f"{escape(unit)}</title></circle>"
        )
    body.append(_polyline(segment, "app-chart__line"))
    body += marks
    periods = (points[0]["period"][:7], points[-1]["period"][:7]) if points else ("", "")
    body.append(_axes(frame, periods, small))
    variation = str(spc["variation"]).replace("_", " ")
    description = (f"{released} months shown, {suppressed} suppressed (small numbers). Mean {_number(spc['mean'])}; "
                   f"process limits {_number(spc['lower_process_limit'])} to {_number(spc['upper_process_limit'])}; "
                   f"variation: {variation}.")
    return _svg(test_id, "app-chart--small" if small else "app-chart--spc", frame, title, description,
                "".join(body))


def funnel_chart(funnel: dict[str, Any], *, title: str, unit: str, by: str) -> Markup:
    """A funnel plot: each released unit's value against its size, inside the 95 % and 99.8 % limits."""
    units = [unit_ for unit_ in funnel["units"] if unit_["value"] is not None and unit_["denominator"]]
    curve = funnel["limits"]
    sizes = [float(u["denominator"]) for u in units] + [float(c["denominator"]) for c in curve]
    values = [float(u["value"]) for u in units] + [funnel["target"]]
    values += [c["upper_998"] for c in curve] + [max(c["lower_998"], 0.0) for c in curve]
    frame = Frame(width=720, height=360, x_low=0, x_high=max(sizes, default=1.0),
                  y_low=0, y_high=(max(values, default=1.0) or 1.0) * HEADROOM)
    target = f"Borough value {_number(funnel['target'])} {unit}"
    body = [_horizontal(frame, funnel["target"], "app-chart__mean", target)]
    for key, css in (("upper_998", "app-chart__limit"), ("lower_998", "app-chart__limit"),
                     ("upper_95", "app-chart__limit95"), ("lower_95", "app-chart__limit95")):
        body.append(_polyline([(frame.x(c["denominator"]), frame.y(c[key])) for c in curve], css))
    for unit_ in units:
        x, y = frame.x(float(unit_["denominator"])), frame.y(float(unit_["value"]))
        position = str(unit_["position"])
        # Outside the limits is marked, not judged: whether high is good depends on the measure.
        kind = "common" if position == "within" else "outside"
        body.append(
            f'<circle class="app-chart__point app-chart__point--{kind}" cx="{x:.1f}" cy="{y:.1f}" r="5">'
            f"<title>{escape(unit_['label'])}: {_number(float(unit_['value']))} {escape(unit)}, "
            f"{POSITION_WORDS.get(position, position)}</title></circle>"
        )
    body.append(_axes(frame, ("0", f"{_number(frame.x_high)} (size)"), small=False))
    outside = sum(1 for u in units if u["position"] != "within")
    description = (f"{len(units)} of {len(funnel['units'])} {by}s with released figures shown; "
                   f"{outside} outside the 95 % limits. Borough value {_number(funnel['target'])} {unit}.")
    return _svg("funnel-plot", "app-chart--funnel", frame, title, description, "".join(body))


def dashboard_charts(document: dict[str, Any], trends: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The charts of one dashboard page: its SPC chart or funnel plot, and neighbourhood small multiples.

    Args:
        document: the measure document of the page.
        trends: neighbourhood -> that neighbourhood's monthly measure document (small multiples).
    """
    unit, title = document["unit"], document["description"]
    charts: dict[str, Any] = {"spc": None, "funnel": None, "small_multiples": []}
    if document.get("spc"):
        charts["spc"] = spc_chart(document["spc"], title=f"{title}, by month", unit=unit)
    if document.get("funnel"):
        charts["funnel"] = funnel_chart(document["funnel"], title=f"{title}, by {document['by']}", unit=unit,
                                        by=document["by"])
    charted = {area: trend["spc"] for area, trend in trends.items() if trend.get("spc")}
    if charted:
        ranges = [spc_value_range(spc) for spc in charted.values()]
        shared = (min(low for low, _ in ranges), max(high for _, high in ranges))
        charts["small_multiples"] = [
            (area, spc_chart(spc, title=f"{area}: {title}, by month", unit=unit, value_range=shared, small=True,
                             test_id="small-multiple"))
            for area, spc in sorted(charted.items())
        ]
    return charts


__all__ = ["dashboard_charts", "funnel_chart", "spc_chart", "spc_value_range"]
