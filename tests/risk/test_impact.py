"""Impact claims: a flagged group's admissions fall by regression to the mean; the matched comparison removes it."""

from __future__ import annotations

import numpy as np

from joinedup.risk.impact import compare_with_matched_group


def _population(seed: int, people: int = 20000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable latent rates; admissions before and after are independent Poisson draws (no intervention)."""
    rng = np.random.default_rng(seed)
    rate = np.exp(rng.normal(-1.5, 0.8, people))
    before = rng.poisson(rate).astype(np.float64)
    after = rng.poisson(rate).astype(np.float64)
    # The risk score at selection sees last year's admissions and (noisily) the rate.
    score = 1 - np.exp(-(0.5 * before + rate * np.exp(rng.normal(0, 0.3, people))))
    return score, before, after


def test_an_intervention_with_no_effect_shows_none_against_the_matched_group() -> None:
    score, before, after = _population(seed=5)
    flagged = np.argsort(-score)[:400]  # the top 2 % get a (useless) intervention
    offer = np.zeros(len(score), dtype=bool)
    offer[flagged[::2]] = True  # half of them, alternately, actually receive it
    pool = ~offer
    estimate = compare_with_matched_group(
        intervention_score=score[offer], intervention_before=before[offer], intervention_after=after[offer],
        pool_score=score[pool], pool_before=before[pool], pool_after=after[pool], caliper=0.01,
    )
    assert estimate.matched_pairs == 200
    # Regression to the mean: the flagged group's admissions fall a lot with no effect at all...
    assert estimate.naive_change < -0.5
    # ...and the matched comparison shows that fall in the untreated too.
    assert abs(estimate.difference_in_differences) < 0.35
    assert "regression to the mean" in estimate.statement


def test_a_real_effect_is_recovered() -> None:
    score, before, after = _population(seed=6)
    offer = np.zeros(len(score), dtype=bool)
    offer[np.argsort(-score)[:400:2]] = True
    treated_after = after.copy()
    rng = np.random.default_rng(1)
    # The intervention prevents each later admission with probability 0.5.
    treated_after[offer] = rng.binomial(after[offer].astype(np.int64), 0.5)
    pool = ~offer
    estimate = compare_with_matched_group(
        intervention_score=score[offer], intervention_before=before[offer], intervention_after=treated_after[offer],
        pool_score=score[pool], pool_before=before[pool], pool_after=after[pool], caliper=0.01,
    )
    expected = -0.5 * after[offer].mean()
    assert abs(estimate.difference_in_differences - expected) < 0.35


def test_people_without_a_match_within_the_caliper_are_counted_not_forced() -> None:
    estimate = compare_with_matched_group(
        intervention_score=np.array([0.9, 0.5]), intervention_before=np.array([3.0, 1.0]),
        intervention_after=np.array([1.0, 1.0]), pool_score=np.array([0.49, 0.1]),
        pool_before=np.array([1.0, 0.0]), pool_after=np.array([0.0, 0.0]), caliper=0.02,
    )
    assert (estimate.matched_pairs, estimate.unmatched) == (1, 1)
    assert estimate.difference_in_differences == (1.0 - 1.0) - (0.0 - 1.0)
