"""The faults real feeds have, injected at a chosen rate and every one recorded in the truth.

A record is faulted with probability ``rate``; the kind is drawn from those its feed can carry.
The fault stream is separate from the world's stream, so changing ``--faults`` never changes what
happened, only how it was reported."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from joinedup.synth.nhs_numbers import check_digit

NHS_NUMBER_KINDS = ("nhs_number_invalid", "nhs_number_missing", "nhs_number_placeholder")
PLACEHOLDERS = ("9999999999", "1111111111")

# What each feed can carry (a record draws its kind from the intersection with what applies).
FEED_FAULTS: dict[str, tuple[str, ...]] = {
    "gp_patient": (*NHS_NUMBER_KINDS, "name_typo", "dob_day_month_swapped", "duplicate", "late"),
    "gp_clinical": ("duplicate", "late", "malformed", "unknown_code", "impossible_value"),
    "gp_baseline_patient": (*NHS_NUMBER_KINDS, "name_typo", "dob_day_month_swapped"),
    "gp_baseline_clinical": ("malformed", "unknown_code", "impossible_value"),
    "hl7": (*NHS_NUMBER_KINDS, "name_typo", "dob_day_month_swapped", "duplicate", "late", "out_of_order",
            "truncated", "malformed", "unknown_code"),
    "sus": (*NHS_NUMBER_KINDS, "dob_day_month_swapped", "duplicate", "late", "truncated", "malformed",
            "unknown_code", "impossible_value"),
    "local_csv": (*NHS_NUMBER_KINDS, "name_typo", "dob_day_month_swapped", "duplicate", "late", "truncated",
                  "malformed", "impossible_value"),
    "telehealth": ("nhs_number_missing", "nhs_number_invalid", "duplicate", "late", "truncated", "malformed",
                   "impossible_value"),
}


@dataclass(slots=True)
class FaultDraw:
    """Draws faults for one person's records from the person's own fault stream."""

    rng: random.Random
    rate: float

    def pick(self, feed: str, *, exclude: tuple[str, ...] = ()) -> str | None:
        """The fault kind for the next record of ``feed``, or None (most records)."""
        if self.rate <= 0 or self.rng.random() >= self.rate:
            return None
        kinds = [k for k in FEED_FAULTS[feed] if k not in exclude]
        return self.rng.choice(kinds) if kinds else None


def invalid_nhs_number(rng: random.Random, nhs_number: str) -> str:
    """The number with its check digit broken, or a digit lost."""
    if rng.random() < 0.3:
        return nhs_number[:9]
    right = check_digit(nhs_number[:9])
    wrong = (int(nhs_number[9]) + rng.randint(1, 9)) % 10
    if wrong == right:
        wrong = (wrong + 1) % 10
    return nhs_number[:9] + str(wrong)


def wrong_nhs_number(rng: random.Random, nhs_number: str) -> str:
    """A transcription slip: two neighbouring digits swapped (sometimes still passes modulus 11)."""
    k = rng.randrange(1, 9)
    digits = list(nhs_number)
    digits[k], digits[k + 1] = digits[k + 1], digits[k]
    swapped = "".join(digits)
    return swapped if swapped != nhs_number else nhs_number[:3] + nhs_number[3:][::-1]


def name_typo(rng: random.Random, name: str) -> str:
    """A letter dropped, doubled or two letters swapped."""
    if len(name) < 3:
        return name + name[-1]
    k = rng.randrange(1, len(name) - 1)
    roll = rng.random()
    if roll < 0.34:
        return name[:k] + name[k + 1 :]
    if roll < 0.67:
        return name[:k] + name[k] + name[k:]
    swapped = name[:k] + name[k + 1] + name[k] + name[k + 2 :]
    return swapped if swapped != name else name[:k] + name[k + 1 :]


def swap_day_month(day: date) -> date | None:
    """The date with day and month swapped, or None when that is not a different real date."""
    if day.day > 12 or day.day == day.month:
        return None
    return day.replace(month=day.day, day=day.month)
