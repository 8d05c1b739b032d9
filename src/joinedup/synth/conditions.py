"""Long-term conditions, frailty deficits and the physiology a GP record measures.

Prevalence rises with age (six bands) and with deprivation, and conditions cluster (diabetes and
hypertension raise kidney and heart disease). A person's hidden frailty drives their eFI deficits
and, through ``latent``, their use of care."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from joinedup.synth.codes import ALLERGIES, DEFICIT_FROM_CONDITION, FREE_DEFICITS, Code

# Prevalence by age band: 0-17, 18-44, 45-64, 65-74, 75-84, 85+.
PREVALENCE: dict[str, tuple[float, ...]] = {
    "hypertension": (0.0, 0.04, 0.18, 0.40, 0.55, 0.62),
    "diabetes": (0.002, 0.02, 0.09, 0.17, 0.20, 0.18),
    "asthma": (0.08, 0.07, 0.06, 0.055, 0.05, 0.045),
    "depression": (0.01, 0.14, 0.17, 0.15, 0.14, 0.13),
    "copd": (0.0, 0.002, 0.02, 0.06, 0.09, 0.10),
    "chd": (0.0, 0.002, 0.03, 0.09, 0.15, 0.20),
    "ckd": (0.0, 0.003, 0.02, 0.09, 0.20, 0.35),
    "af": (0.0, 0.001, 0.01, 0.05, 0.11, 0.18),
    "heart_failure": (0.0, 0.0005, 0.004, 0.02, 0.05, 0.10),
    "stroke": (0.0, 0.002, 0.012, 0.04, 0.08, 0.12),
    "cancer": (0.001, 0.008, 0.03, 0.08, 0.12, 0.14),
    "dementia": (0.0, 0.0, 0.001, 0.015, 0.05, 0.15),
    "smi": (0.0005, 0.011, 0.012, 0.01, 0.008, 0.006),
    "learning_disability": (0.006, 0.006, 0.005, 0.003, 0.002, 0.001),
}
# How much more common in the most deprived decile than average (linear in decile).
DEPRIVATION_GRADIENT = {
    "diabetes": 0.35, "copd": 0.45, "smi": 0.4, "depression": 0.3, "chd": 0.3, "stroke": 0.25,
    "heart_failure": 0.3, "asthma": 0.15, "hypertension": 0.15, "ckd": 0.15, "af": 0.0, "cancer": 0.05,
    "dementia": 0.1, "learning_disability": 0.1,
}
# Clustering: (condition, raised by, odds-like multiplier); the base is scaled down to keep totals.
CLUSTERING = (
    ("ckd", "diabetes", 1.8), ("ckd", "hypertension", 1.5), ("chd", "diabetes", 1.6),
    ("chd", "hypertension", 1.4), ("heart_failure", "chd", 2.0), ("heart_failure", "hypertension", 1.3),
    ("stroke", "af", 1.8), ("stroke", "hypertension", 1.4), ("af", "hypertension", 1.3),
)
_CLUSTER_SCALE = {"ckd": 0.8, "chd": 0.82, "heart_failure": 0.72, "stroke": 0.75, "af": 0.9}
# New cases a year, as a share of the band prevalence.
INCIDENCE_SHARE = {"cancer": 0.15, "depression": 0.10, "asthma": 0.03, "learning_disability": 0.0}
DEFAULT_INCIDENCE_SHARE = 0.05
DEFICIT_BASE = (0.004, 0.012, 0.035, 0.08, 0.14, 0.22)


def age_band(age: int) -> int:
    """Index of the six prevalence bands."""
    return 0 if age < 18 else 1 if age < 45 else 2 if age < 65 else 3 if age < 75 else 4 if age < 85 else 5


@dataclass(slots=True)
class Clinical:
    """A person's health as the truth knows it."""

    conditions: dict[str, date] = field(default_factory=dict)  # key -> onset
    deficits: dict[str, date] = field(default_factory=dict)  # eFI free deficit -> onset
    frailty_z: float = 0.0
    risk_effect: float = 0.0  # u, the person's own propensity the data never shows
    hba1c_mean: float = 38.0
    egfr_base: float = 95.0
    systolic_base: float = 125.0
    weight_kg: float = 75.0
    height_m: float = 1.70
    allergies: tuple[Code, ...] = ()

    def has(self, key: str, on: date) -> bool:
        """Whether the condition is diagnosed on a day."""
        onset = self.conditions.get(key)
        return onset is not None and onset <= on

    def conditions_on(self, on: date) -> list[str]:
        """The conditions diagnosed by a day, in a fixed order."""
        return [k for k in PREVALENCE if self.has(k, on)]

    def deficit_count(self, on: date, *, lives_alone: bool, repeat_drug_count: int) -> int:
        """The eFI deficit count on a day (of 36)."""
        count = sum(1 for d in self.deficits.values() if d <= on)
        count += sum(1 for c in DEFICIT_FROM_CONDITION.values() if self.has(c, on))
        count += int(lives_alone) + int(repeat_drug_count >= 5)
        return count


def _deprivation_multiplier(key: str, imd_decile: int) -> float:
    return 1.0 + DEPRIVATION_GRADIENT[key] * (5.5 - imd_decile) / 4.5


def _probability(key: str, age: int, imd_decile: int, present: dict[str, date]) -> float:
    p = PREVALENCE[key][age_band(age)] * _deprivation_multiplier(key, imd_decile)
    if key in _CLUSTER_SCALE:
        p *= _CLUSTER_SCALE[key]
        for target, source, multiplier in CLUSTERING:
            if target == key and source in present:
                p *= multiplier
    return min(p, 0.95)


def draw_clinical(
    rng: random.Random, *, birth_date: date, sex: str, imd_decile: int, enters: date, end: date
) -> Clinical:
    """Draw conditions present on entering the borough, those that start later, and frailty."""
    age = max(0, (enters - birth_date).days // 365)
    clinical = Clinical()
    clinical.frailty_z = rng.gauss(0.0, 1.0)
    clinical.risk_effect = 0.45 * (0.5 * clinical.frailty_z + 0.866 * rng.gauss(0.0, 1.0))
    for key in PREVALENCE:
        if rng.random() < _probability(key, age, imd_decile, clinical.conditions):
            years_before = rng.uniform(0.1, max(0.2, min(15.0, age * 0.6)))
            onset = enters - timedelta(days=int(years_before * 365.25))
            clinical.conditions[key] = max(onset, birth_date + timedelta(days=30))
    _draw_incident_conditions(rng, clinical, birth_date, imd_decile, enters, end)
    _draw_deficits(rng, clinical, birth_date, enters, end)
    _draw_physiology(rng, clinical, age, sex, imd_decile)
    if rng.random() < 0.12:
        clinical.allergies = (rng.choice(ALLERGIES),)
    return clinical


def _draw_incident_conditions(
    rng: random.Random, clinical: Clinical, birth_date: date, imd_decile: int, enters: date, end: date
) -> None:
    year_start = enters
    while year_start < end:
        age = (year_start - birth_date).days // 365
        for key in PREVALENCE:
            if key in clinical.conditions:
                continue
            share = INCIDENCE_SHARE.get(key, DEFAULT_INCIDENCE_SHARE)
            if rng.random() < share * _probability(key, age, imd_decile, clinical.conditions):
                clinical.conditions[key] = year_start + timedelta(days=rng.randrange(365))
        year_start += timedelta(days=365)


def _draw_deficits(rng: random.Random, clinical: Clinical, birth_date: date, enters: date, end: date) -> None:
    frailty = math.exp(0.6 * clinical.frailty_z - 0.18)
    age = max(0, (enters - birth_date).days // 365)
    boost = 1.0 + 0.15 * len(clinical.conditions)
    base = DEFICIT_BASE[age_band(age)] * frailty * boost
    for key, weight in FREE_DEFICITS.items():
        if rng.random() < min(0.9, base * weight):
            clinical.deficits[key] = enters - timedelta(days=rng.randrange(30, 3650))
    year_start = enters
    while year_start < end:
        age = (year_start - birth_date).days // 365
        yearly = DEFICIT_BASE[age_band(age)] * frailty * boost * 0.15
        for key, weight in FREE_DEFICITS.items():
            if key not in clinical.deficits and rng.random() < yearly * weight:
                clinical.deficits[key] = year_start + timedelta(days=rng.randrange(365))
        year_start += timedelta(days=365)
    for key, onset in list(clinical.deficits.items()):
        if onset < birth_date:
            clinical.deficits[key] = birth_date + timedelta(days=365)


def _draw_physiology(rng: random.Random, clinical: Clinical, age: int, sex: str, imd_decile: int) -> None:
    if "diabetes" in clinical.conditions:
        clinical.hba1c_mean = min(120.0, max(42.0, rng.gauss(56.0 + 1.5 * (5.5 - imd_decile), 12.0)))
    else:
        clinical.hba1c_mean = min(47.0, max(28.0, rng.gauss(36.0 + age * 0.05, 3.0)))
    egfr = 110.0 - 0.8 * max(0, age - 20) + rng.gauss(0, 8)
    if "ckd" in clinical.conditions:
        egfr = rng.uniform(30.0, 58.0)
    clinical.egfr_base = min(120.0, max(15.0, egfr))
    clinical.systolic_base = 115.0 + 0.45 * max(0, age - 20) + rng.gauss(0, 10) + (
        12.0 if "hypertension" in clinical.conditions else 0.0
    )
    clinical.height_m = rng.gauss(1.77 if sex == "male" else 1.63, 0.07)
    bmi = min(50.0, max(16.0, rng.gauss(27.0 + 0.25 * (5.5 - imd_decile), 4.5)))
    if age < 18:
        clinical.height_m = min(clinical.height_m, 0.6 + age * 0.065)
        bmi = rng.gauss(18.0, 2.5)
    clinical.weight_kg = round(bmi * clinical.height_m**2, 1)
