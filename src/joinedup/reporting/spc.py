"""Statistical process control: XmR charts read with NHS England's "Making Data Count" rules.

Limits: mean ± 2.66 × the mean moving range (the XmR constant; 3 sigma), the outer third of the
band (beyond mean ± 2 sigma) is "near a limit". Special cause variation, as the Making Data Count
guidance and its NHS-R reference implementation (NHSRplotthedots, ``ptd_calculate_point_type``)
apply it:

1. a single point outside the process limits;
2. a shift: a run of 7 or more consecutive points above, or below, the mean (a point on the mean
   breaks the run);
3. a trend: 7 or more consecutive points each higher, or each lower, than the one before (that is,
   6 consecutive increases or decreases; an equal value breaks it);
4. two out of three consecutive points near (beyond 2 sigma) the same process limit, all three on
   the same side of the mean; the near points are flagged.

Every point of a qualifying run is flagged. Each flagged point is improvement or concern by the
measure's improvement direction (or neutral when it has none). The chart's variation icon is read
from the last point; the assurance icon compares the target with the limits: a target beyond the
limits on the failing side means the process will consistently fail, beyond them on the passing side
consistently pass, and within them hit and miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

XMR_CONSTANT = 2.66
SHIFT_LENGTH = 7
TREND_LENGTH = 7
MINIMUM_POINTS = 2

Improvement = Literal["increase", "decrease", "neither"]
PointType = Literal["common_cause", "special_cause_improvement", "special_cause_concern", "special_cause_neutral"]
Variation = Literal[
    "common_cause",
    "special_cause_improvement_high",
    "special_cause_improvement_low",
    "special_cause_concern_high",
    "special_cause_concern_low",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
]
Assurance = Literal["consistently_pass", "consistently_fail", "hit_and_miss", "no_target"]


@dataclass(frozen=True)
class SpcPoint:
    """One period of an XmR chart with the rules it breaks."""

    period: str
    value: float
    outside_limits_flag: bool
    shift_flag: bool
    trend_flag: bool
    two_of_three_flag: bool
    point_type: PointType

    @property
    def special_cause_flag(self) -> bool:
        """Whether any rule flags the point."""
        return self.point_type != "common_cause"


@dataclass(frozen=True)
class SpcChart:
    """An XmR chart: centre line, process limits, points, and the two icons as data."""

    mean: float
    mean_moving_range: float
    upper_process_limit: float
    lower_process_limit: float
    points: tuple[SpcPoint, ...]
    improvement: Improvement
    target: float | None
    variation: Variation
    assurance: Assurance


def _runs(flags: Sequence[int], length: int) -> list[bool]:
    """Mark every point inside a run of ``length`` or more equal non-zero signs."""
    marked = [False] * len(flags)
    start = 0
    for index in range(1, len(flags) + 1):
        if index == len(flags) or flags[index] != flags[start]:
            if flags[start] != 0 and index - start >= length:
                for position in range(start, index):
                    marked[position] = True
            start = index
    return marked


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _trend_flags(values: Sequence[float]) -> list[bool]:
    """Points in a run of ``TREND_LENGTH`` points each above (or below) the one before."""
    steps = [_sign(values[index] - values[index - 1]) for index in range(1, len(values))]
    marked = [False] * len(values)
    start = 0
    for index in range(1, len(steps) + 1):
        if index == len(steps) or steps[index] != steps[start]:
            # steps[start:index] are equal; they join points start..index.
            if steps and steps[start] != 0 and index - start + 1 >= TREND_LENGTH:
                for position in range(start, index + 1):
                    marked[position] = True
            start = index
    return marked


def _two_of_three(near: Sequence[int], sides: Sequence[int]) -> list[bool]:
    """Near-limit points of any three consecutive points all on one side of the mean, two or more near."""
    marked = [False] * len(near)
    for start in range(len(near) - 2):
        side = sides[start]
        if side == 0 or any(other != side for other in sides[start : start + 3]):
            continue
        window = near[start : start + 3]
        if sum(1 for flag in window if flag == side) >= 2:
            for offset, flag in enumerate(window):
                if flag == side:
                    marked[start + offset] = True
    return marked


def _point_type(value: float, mean: float, special: bool, improvement: Improvement) -> PointType:
    if not special:
        return "common_cause"
    if improvement == "neither":
        return "special_cause_neutral"
    high = value > mean
    return "special_cause_improvement" if high == (improvement == "increase") else "special_cause_concern"


def _variation(last: SpcPoint, mean: float) -> Variation:
    if last.point_type == "common_cause":
        return "common_cause"
    side = "high" if last.value > mean else "low"
    kind = last.point_type.removeprefix("special_cause_")
    variation: Variation = f"special_cause_{kind}_{side}"  # type: ignore[assignment]
    return variation


def _assurance(target: float | None, lower: float, upper: float, improvement: Improvement) -> Assurance:
    if target is None or improvement == "neither":
        return "no_target"
    if lower <= target <= upper:
        return "hit_and_miss"
    target_above = target > upper
    # Improvement up: a target above the whole band is never reached.
    fails = target_above if improvement == "increase" else not target_above
    return "consistently_fail" if fails else "consistently_pass"


def xmr_chart(
    periods: Sequence[str],
    values: Sequence[float],
    *,
    improvement: Improvement = "neither",
    target: float | None = None,
) -> SpcChart:
    """Build an XmR chart of ``values`` and read it with the Making Data Count rules.

    Raises:
        ValueError: fewer than two points, or periods and values of different lengths.
    """
    if len(periods) != len(values):
        raise ValueError("periods and values differ in length")
    if len(values) < MINIMUM_POINTS:
        raise ValueError(f"an XmR chart needs at least {MINIMUM_POINTS} points")
    mean = sum(values) / len(values)
    moving_ranges = [abs(values[index] - values[index - 1]) for index in range(1, len(values))]
    mean_moving_range = sum(moving_ranges) / len(moving_ranges)
    sigma = mean_moving_range * XMR_CONSTANT / 3
    upper, lower = mean + 3 * sigma, mean - 3 * sigma
    outside = [value > upper or value < lower for value in values]
    sides = [_sign(value - mean) for value in values]
    shift = _runs(sides, SHIFT_LENGTH)
    trend = _trend_flags(values)
    near = [
        (1 if value > mean + 2 * sigma else -1 if value < mean - 2 * sigma else 0) if sigma > 0 else 0
        for value in values
    ]
    two_of_three = _two_of_three(near, sides)
    points = tuple(
        SpcPoint(
            period=str(period),
            value=float(value),
            outside_limits_flag=outside[index],
            shift_flag=shift[index],
            trend_flag=trend[index],
            two_of_three_flag=two_of_three[index],
            point_type=_point_type(
                value, mean, outside[index] or shift[index] or trend[index] or two_of_three[index], improvement
            ),
        )
        for index, (period, value) in enumerate(zip(periods, values, strict=True))
    )
    return SpcChart(
        mean=mean,
        mean_moving_range=mean_moving_range,
        upper_process_limit=upper,
        lower_process_limit=lower,
        points=points,
        improvement=improvement,
        target=target,
        variation=_variation(points[-1], mean),
        assurance=_assurance(target, lower, upper, improvement),
    )
