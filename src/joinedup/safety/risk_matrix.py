"""The DCB0129 clinical risk matrix: severity × likelihood → a risk rating from 1 to 5.

Ratings (DCB0129 specification, annex): 1 very low and 2 low are acceptable; 3 medium is
undesirable and acceptable only with a recorded justification; 4 high and 5 very high are
unacceptable.
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["minor", "significant", "considerable", "major", "catastrophic"]
Likelihood = Literal["very_low", "low", "medium", "high", "very_high"]

SEVERITIES: tuple[Severity, ...] = ("minor", "significant", "considerable", "major", "catastrophic")

# Rows are likelihoods, columns the severities in SEVERITIES order.
MATRIX: dict[Likelihood, tuple[int, int, int, int, int]] = {
    "very_high": (3, 4, 4, 5, 5),
    "high": (2, 3, 3, 4, 5),
    "medium": (2, 2, 3, 3, 4),
    "low": (1, 2, 2, 3, 4),
    "very_low": (1, 1, 2, 2, 3),
}

RATING_NAMES = {1: "very low", 2: "low", 3: "medium", 4: "high", 5: "very high"}

# The highest rating a hazard may be left at without a recorded justification.
ACCEPTABLE_RATING = 2


def risk_rating(severity: Severity, likelihood: Likelihood) -> int:
    """The DCB0129 risk rating of a hazard with this severity and likelihood."""
    return MATRIX[likelihood][SEVERITIES.index(severity)]
