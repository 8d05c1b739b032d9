"""XmR charts and the Making Data Count rules, on series with known special causes."""

from __future__ import annotations

import pytest

from joinedup.reporting import xmr_chart


def _periods(count: int) -> list[str]:
    return [f"p{index:02d}" for index in range(count)]


def test_limits_and_a_single_point_outside_them() -> None:
    values = [8.0, 16.0] * 6 + [60.0]
    chart = xmr_chart(_periods(13), values, improvement="decrease")
    # Mean 204/13 = 15.69; moving ranges: eleven of 8 and one of 44, mean 132/12 = 11;
    # limits mean ± 2.66 × 11 = 44.95 and -13.57.
    assert chart.mean == pytest.approx(204 / 13)
    assert chart.mean_moving_range == pytest.approx(11.0)
    assert chart.upper_process_limit == pytest.approx(204 / 13 + 2.66 * 11)
    assert chart.lower_process_limit == pytest.approx(204 / 13 - 2.66 * 11)
    flagged = [point.period for point in chart.points if point.outside_limits_flag]
    assert flagged == ["p12"]
    # Up is bad for this measure: the last point is special cause of concern, high.
    assert chart.points[-1].point_type == "special_cause_concern"
    assert chart.variation == "special_cause_concern_high"
    assert [point.period for point in chart.points if point.special_cause_flag] == ["p12"]


def test_a_shift_needs_seven_points_on_one_side_of_the_mean() -> None:
    # Mean 13: the first ten alternate either side of it, then seven sit above it.
    seven = [15.0, 9.0] * 5 + [14.0, 15.0, 14.0, 15.0, 14.0, 15.0, 14.0]
    chart = xmr_chart(_periods(len(seven)), seven, improvement="increase")
    assert [point.shift_flag for point in chart.points] == [False] * 10 + [True] * 7
    assert not any(point.outside_limits_flag or point.trend_flag for point in chart.points)
    assert chart.variation == "special_cause_improvement_high"
    six = [15.0, 9.0] * 5 + [14.0, 15.0, 14.0, 15.0, 14.0, 15.0]
    assert not any(point.shift_flag for point in xmr_chart(_periods(len(six)), six).points)


def test_a_trend_needs_seven_points_each_rising_or_each_falling() -> None:
    rising = [13.0, 12.0, 13.0, 12.0, 13.0, 12.0, 10.0, 10.5, 11.0, 11.5, 12.0, 12.5, 13.0, 12.0]
    chart = xmr_chart(_periods(len(rising)), rising)
    assert [point.period for point in chart.points if point.trend_flag] == [f"p{index:02d}" for index in range(6, 13)]
    # Six rising points (five increases) are not a trend; an equal value breaks one.
    short = [13.0, 12.0, 13.0, 12.0, 13.0, 12.0, 10.0, 10.5, 11.0, 11.5, 12.0, 12.5, 12.0]
    assert not any(point.trend_flag for point in xmr_chart(_periods(len(short)), short).points)
    flat = [13.0, 12.0, 13.0, 12.0, 10.0, 10.5, 11.0, 11.0, 11.5, 12.0, 12.5, 13.0]
    assert not any(point.trend_flag for point in xmr_chart(_periods(len(flat)), flat).points)


def test_two_of_three_points_near_the_same_limit() -> None:
    base = [10.0, 11.0] * 8
    chart = xmr_chart(_periods(19), [*base, 13.2, 11.0, 13.2])
    # Mean 205.4/19 = 10.81, mean moving range 21.6/18 = 1.2, sigma 1.064: the two 13.2s sit beyond
    # mean + 2 sigma (12.94) but inside the limit (14.00), and all three points are above the mean.
    sigma = (chart.upper_process_limit - chart.mean) / 3
    assert chart.mean == pytest.approx(205.4 / 19)
    assert chart.mean + 2 * sigma < 13.2 < chart.upper_process_limit
    flagged = [point.period for point in chart.points if point.two_of_three_flag]
    assert flagged == ["p16", "p18"]
    assert chart.points[-1].point_type == "special_cause_neutral"
    # With the middle point below the mean the three are not on one side: no signal.
    mixed = xmr_chart(_periods(19), [*base, 13.2, 10.0, 13.2])
    assert not any(point.two_of_three_flag for point in mixed.points)


def test_assurance_compares_the_target_with_the_limits() -> None:
    values = [10.0, 12.0] * 6
    # Limits are 11 ± 5.32: a target of 20 (higher is better) is never reached.
    assert xmr_chart(_periods(12), values, improvement="increase", target=20.0).assurance == "consistently_fail"
    assert xmr_chart(_periods(12), values, improvement="decrease", target=20.0).assurance == "consistently_pass"
    assert xmr_chart(_periods(12), values, improvement="increase", target=12.0).assurance == "hit_and_miss"
    assert xmr_chart(_periods(12), values, improvement="increase").assurance == "no_target"
    assert xmr_chart(_periods(12), values).variation == "common_cause"


def test_too_few_points_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        xmr_chart(["p0"], [1.0])
