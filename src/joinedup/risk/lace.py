"""The LACE index for readmission or death within 30 days of discharge (van Walraven et al., CMAJ 2010).

Points exactly as published (total 0-19):

- L, length of stay in days: <1 → 0, 1 → 1, 2 → 2, 3 → 3, 4-6 → 4, 7-13 → 5, >= 14 → 7
- A, acuity: an emergency (non-elective) admission → 3
- C, Charlson comorbidity index: 0 → 0, 1 → 1, 2 → 2, 3 → 3, >= 4 → 5
- E, emergency department (A&E) visits in the 6 months before admission: 0-3 → same, >= 4 → 4
"""

from __future__ import annotations

from dataclasses import dataclass

from joinedup.risk.errors import RiskError

LACE_MAXIMUM = 19


@dataclass(frozen=True)
class LaceScore:
    """A LACE index with its four parts, so the discharge team sees where the points come from."""

    length_of_stay_points: int
    acuity_points: int
    comorbidity_points: int
    emergency_visit_points: int

    @property
    def total(self) -> int:
        """The LACE index, 0-19."""
        return (
            self.length_of_stay_points + self.acuity_points + self.comorbidity_points + self.emergency_visit_points
        )

    @property
    def risk_level(self) -> str:
        """'high' at 10 or more points (the threshold commonly used in practice), else 'moderate'/'low'."""
        if self.total >= 10:
            return "high"
        return "moderate" if self.total >= 5 else "low"


def length_of_stay_points(days: int) -> int:
    """L: 0 for under a day, 1-3 for 1-3 days, 4 for 4-6, 5 for 7-13, 7 for 14 or more."""
    if days < 0:
        raise RiskError("length of stay cannot be negative; check the admission and discharge dates")
    if days <= 3:
        return days
    if days <= 6:
        return 4
    return 5 if days <= 13 else 7


def comorbidity_points(charlson: int) -> int:
    """C: the Charlson index as points up to 3, and 5 for an index of 4 or more."""
    if charlson < 0:
        raise RiskError("a Charlson index cannot be negative")
    return charlson if charlson <= 3 else 5


def emergency_visit_points(visits_6m: int) -> int:
    """E: A&E visits in the 6 months before admission, capped at 4."""
    if visits_6m < 0:
        raise RiskError("a count of A&E visits cannot be negative")
    return min(visits_6m, 4)


def lace_score(*, length_of_stay_days: int, emergency: bool, charlson: int, ae_visits_6m: int) -> LaceScore:
    """The LACE index of one discharge."""
    return LaceScore(
        length_of_stay_points=length_of_stay_points(length_of_stay_days),
        acuity_points=3 if emergency else 0,
        comorbidity_points=comorbidity_points(charlson),
        emergency_visit_points=emergency_visit_points(ae_visits_6m),
    )
