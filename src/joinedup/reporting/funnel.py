"""Funnel plots for comparing practices: each unit's value against limits that narrow with its size.

Proportions (percentages): binomial limits p ± z √(p(1 − p)/n), the normal approximation of
Spiegelhalter (Stat Med 2005;24:1185-1202). Rates per 1,000: Poisson limits λ ± z √(λ/n) on the rate
per person-time. ``z`` = 1.96 (95 %) and 3.09 (99.8 %), the two sets Public Health England's
fingertips and the NHS use. The target is the pooled value over all units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Z_95 = 1.959964
Z_998 = 3.090232

Kind = Literal["proportion", "rate"]


@dataclass(frozen=True)
class FunnelUnit:
    """One unit (a practice) on the funnel, with its limits at its own size."""

    label: str
    numerator: float
    denominator: float
    value: float
    lower_95: float
    upper_95: float
    lower_998: float
    upper_998: float
    # above_998 | above_95 | within | below_95 | below_998
    position: str


@dataclass(frozen=True)
class FunnelPlot:
    """Pooled target and every unit's place on the funnel (values in the measure's scale)."""

    kind: Kind
    scale: float
    target: float
    units: tuple[FunnelUnit, ...]


def _limits(kind: Kind, target: float, denominator: float, z: float) -> tuple[float, float]:
    if kind == "proportion":
        spread = z * math.sqrt(max(target * (1 - target), 0.0) / denominator)
        return max(target - spread, 0.0), min(target + spread, 1.0)
    spread = z * math.sqrt(max(target, 0.0) / denominator)
    return max(target - spread, 0.0), target + spread


def funnel_plot(
    units: Sequence[tuple[str, float, float]], *, kind: Kind = "proportion", scale: float = 100.0
) -> FunnelPlot:
    """Place each ``(label, numerator, denominator)`` on a funnel around the pooled value.

    ``scale`` turns the fraction into the measure's unit (100 for a percentage, 1000 for a rate
    per 1,000 when the denominator is person-years). Units with no denominator are left out.
    """
    usable = [(label, float(num), float(den)) for label, num, den in units if den > 0]
    if not usable:
        raise ValueError("no unit has a denominator")
    target = sum(num for _, num, _ in usable) / sum(den for _, _, den in usable)
    placed = []
    for label, numerator, denominator in usable:
        fraction = numerator / denominator
        low95, high95 = _limits(kind, target, denominator, Z_95)
        low998, high998 = _limits(kind, target, denominator, Z_998)
        if fraction > high998:
            position = "above_998"
        elif fraction > high95:
            position = "above_95"
        elif fraction < low998:
            position = "below_998"
        elif fraction < low95:
            position = "below_95"
        else:
            position = "within"
        placed.append(
            FunnelUnit(
                label=label,
                numerator=numerator,
                denominator=denominator,
                value=fraction * scale,
                lower_95=low95 * scale,
                upper_95=high95 * scale,
                lower_998=low998 * scale,
                upper_998=high998 * scale,
                position=position,
            )
        )
    return FunnelPlot(kind=kind, scale=scale, target=target * scale, units=tuple(placed))


def funnel_limits(plot: FunnelPlot, denominator: float) -> tuple[float, float, float, float]:
    """The funnel's limits at a unit size, in the measure's scale: (lower 99.8, lower 95, upper 95, upper 99.8).

    For drawing the funnel's curves across the range of sizes.
    """
    target = plot.target / plot.scale
    low95, high95 = _limits(plot.kind, target, denominator, Z_95)
    low998, high998 = _limits(plot.kind, target, denominator, Z_998)
    return low998 * plot.scale, low95 * plot.scale, high95 * plot.scale, high998 * plot.scale

