"""Funnel plots: pooled target and limits by unit size, against hand-computed figures."""

from __future__ import annotations

import math

import pytest

from joinedup.reporting import funnel_plot


def test_proportion_funnel_places_units_against_95_and_998_limits() -> None:
    plot = funnel_plot([("P1", 30, 100), ("P2", 10, 100), ("P3", 60, 400)], kind="proportion", scale=100)
    # Pooled: 100 / 600.
    target = 100 / 600
    assert plot.target == pytest.approx(target * 100)
    spread_100 = math.sqrt(target * (1 - target) / 100)
    units = {unit.label: unit for unit in plot.units}
    assert units["P1"].upper_95 == pytest.approx((target + 1.959964 * spread_100) * 100)
    assert units["P1"].upper_998 == pytest.approx((target + 3.090232 * spread_100) * 100)
    # P1: 30 % against upper limits of 23.97 % (95 %) and 28.18 % (99.8 %).
    assert units["P1"].position == "above_998"
    # P2: 10 % against a lower 95 % limit of 9.36 %: within.
    assert units["P2"].position == "within"
    assert units["P3"].position == "within"


def test_rate_funnel_uses_poisson_limits_per_person_time() -> None:
    plot = funnel_plot([("A", 40, 1000), ("B", 5, 1000)], kind="rate", scale=1000)
    rate = 45 / 2000
    units = {unit.label: unit for unit in plot.units}
    assert units["A"].upper_95 == pytest.approx((rate + 1.959964 * math.sqrt(rate / 1000)) * 1000)
    assert (units["A"].position, units["B"].position) == ("above_998", "below_998")
