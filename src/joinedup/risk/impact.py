"""Impact claims against a matched comparison group, never a before-and-after of the flagged alone.

People picked because their risk is high this year tend to have fewer admissions next year
whatever is done (regression to the mean; Roland et al., BMJ 2005), and the Welsh PRISM trial saw
emergency admissions RISE after a risk tool came in (Snooks et al., BMJ Qual Saf 2019). So an
"admissions avoided" figure compares the change in the people who got the intervention with the
change in similar people who did not: matched on the risk score at selection (nearest neighbour,
within a caliper, without replacement), reported as a difference in differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

DEFAULT_CALIPER = 0.02

STATEMENT = (
    "Compared with a matched group of people with the same risk score at selection who did not receive the "
    "intervention (nearest-neighbour matching on the score, caliper {caliper}); the difference in differences "
    "removes the fall that regression to the mean causes in both groups. Observational: unmeasured differences "
    "between the groups may remain."
)


@dataclass(frozen=True)
class ImpactEstimate:
    """Before/after means for the intervention and matched comparison groups, and their difference."""

    matched_pairs: int
    unmatched: int
    intervention_before: float
    intervention_after: float
    comparison_before: float
    comparison_after: float
    statement: str

    @property
    def naive_change(self) -> float:
        """The intervention group's own change: what a before-and-after claim would (wrongly) report."""
        return self.intervention_after - self.intervention_before

    @property
    def difference_in_differences(self) -> float:
        """Change in the intervention group minus change in the matched group (negative = fewer events)."""
        return self.naive_change - (self.comparison_after - self.comparison_before)


def compare_with_matched_group(
    *,
    intervention_score: FloatArray,
    intervention_before: FloatArray,
    intervention_after: FloatArray,
    pool_score: FloatArray,
    pool_before: FloatArray,
    pool_after: FloatArray,
    caliper: float = DEFAULT_CALIPER,
) -> ImpactEstimate:
    """Match each intervention person to the nearest unused pool person on the score, then compare changes.

    Args:
        intervention_score, pool_score: risk score at selection (same model and date for both).
        *_before, *_after: the outcome (e.g. emergency admissions) in equal windows before and after.
        caliper: the largest score difference accepted for a match.
    """
    order = np.argsort(pool_score, kind="stable")
    sorted_scores = np.asarray(pool_score, dtype=np.float64)[order]
    used = np.zeros(len(order), dtype=bool)
    pairs: list[tuple[int, int]] = []
    # Highest scores first: they are the hardest to match and matter most.
    for person in np.argsort(-np.asarray(intervention_score), kind="stable"):
        target = float(intervention_score[person])
        match = _nearest_unused(sorted_scores, used, target, caliper)
        if match is not None:
            used[match] = True
            pairs.append((int(person), int(order[match])))
    if not pairs:
        nan = float("nan")
        return ImpactEstimate(0, len(intervention_score), nan, nan, nan, nan, STATEMENT.format(caliper=caliper))
    treated = np.array([p for p, _ in pairs])
    controls = np.array([c for _, c in pairs])
    return ImpactEstimate(
        matched_pairs=len(pairs),
        unmatched=len(intervention_score) - len(pairs),
        intervention_before=float(np.mean(intervention_before[treated])),
        intervention_after=float(np.mean(intervention_after[treated])),
        comparison_before=float(np.mean(pool_before[controls])),
        comparison_after=float(np.mean(pool_after[controls])),
        statement=STATEMENT.format(caliper=caliper),
    )


def _nearest_unused(sorted_scores: FloatArray, used: np.ndarray[Any, Any], target: float, caliper: float) -> int | None:
    """The closest unused pool position within the caliper, looking down and up from the target."""
    position = int(np.searchsorted(sorted_scores, target))
    candidates: list[tuple[float, int]] = []
    below = position - 1
    while below >= 0 and target - sorted_scores[below] <= caliper:
        if not used[below]:
            candidates.append((float(target - sorted_scores[below]), below))
            break
        below -= 1
    above = position
    while above < len(sorted_scores) and sorted_scores[above] - target <= caliper:
        if not used[above]:
            candidates.append((float(sorted_scores[above] - target), above))
            break
        above += 1
    return min(candidates)[1] if candidates else None
