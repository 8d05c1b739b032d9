"""The latent risk model: how age, conditions, frailty, deprivation, diabetes control, living
alone, prior admissions and a person's unseen propensity drive emergency admissions, readmissions,
deaths and the other uses of care. A risk model trained on the feeds should recover this signal.

Rates are per person-year. The coefficients are the documentation (docs/synthetic-data.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Emergency admissions a year for someone with no conditions, average deprivation, no deficits,
# by band: 0-4, 5-17, 18-44, 45-64, 65-74, 75-84, 85+ (calibrated to the England targets).
EMERGENCY_BASE = (0.078, 0.021, 0.031, 0.034, 0.042, 0.046, 0.052)
EMERGENCY_CONDITION_LOG = {
    "heart_failure": 0.8, "copd": 0.7, "cancer": 0.45, "dementia": 0.45, "smi": 0.5,
    "learning_disability": 0.4, "ckd": 0.3, "chd": 0.3, "stroke": 0.3, "diabetes": 0.25, "af": 0.25,
    "asthma": 0.2, "depression": 0.2, "hypertension": 0.05,
}
DEFICIT_LOG = 0.06
DEPRIVATION_LOG = 0.05  # per decile below 10
POOR_HBA1C_LOG = 0.45  # HbA1c above 75 mmol/mol
LIVES_ALONE_65_LOG = 0.25
PRIOR_ADMISSION_LOG = 0.35  # per emergency admission in the previous year, up to 3
HBA1C_POOR_CONTROL = 75.0

# Deaths: Gompertz in age, multiplied by conditions and frailty.
DEATH_INTERCEPT = -12.15
DEATH_AGE_SLOPE = 0.1
DEATH_CONDITION_LOG = {
    "cancer": 0.9, "dementia": 0.9, "heart_failure": 0.7, "copd": 0.6, "smi": 0.5,
    "learning_disability": 0.5, "ckd": 0.3, "stroke": 0.3, "diabetes": 0.2, "chd": 0.2, "af": 0.2,
}
DEATH_DEFICIT_LOG = 0.05
MALE_DEATH_LOG = 0.25

AE_BASE = (0.58, 0.25, 0.30, 0.22, 0.23, 0.30, 0.40)  # attendances not admitted
ELECTIVE_BASE = (0.03, 0.03, 0.07, 0.15, 0.26, 0.28, 0.18)
OUTPATIENT_BASE = (0.85, 0.7, 1.4, 2.15, 3.3, 4.0, 3.5)
GP_BASE = (5.0, 2.2, 3.4, 4.2, 5.6, 7.0, 8.5)


def activity_band(age: int) -> int:
    """Index of the seven activity bands: 0-4, 5-17, 18-44, 45-64, 65-74, 75-84, 85+."""
    if age < 5:
        return 0
    if age < 18:
        return 1
    return 2 if age < 45 else 3 if age < 65 else 4 if age < 75 else 5 if age < 85 else 6


@dataclass(frozen=True, slots=True)
class RiskFactors:
    """What the latent model reads about a person at the start of a year."""

    age: int
    male: bool
    conditions: tuple[str, ...]
    deficit_count: int
    imd_decile: int
    hba1c: float
    lives_alone: bool
    prior_emergency_admissions: int
    risk_effect: float


def emergency_rate(f: RiskFactors) -> float:
    """Expected emergency admissions in the coming year."""
    log_rate = math.log(EMERGENCY_BASE[activity_band(f.age)])
    log_rate += sum(EMERGENCY_CONDITION_LOG[c] for c in f.conditions)
    log_rate += DEFICIT_LOG * f.deficit_count
    log_rate += DEPRIVATION_LOG * (10 - f.imd_decile)
    log_rate += POOR_HBA1C_LOG * (f.hba1c > HBA1C_POOR_CONTROL)
    log_rate += LIVES_ALONE_65_LOG * (f.lives_alone and f.age >= 65)
    log_rate += PRIOR_ADMISSION_LOG * min(f.prior_emergency_admissions, 3)
    return math.exp(log_rate + f.risk_effect)


def death_hazard(f: RiskFactors) -> float:
    """Yearly hazard of death."""
    log_h = DEATH_INTERCEPT + DEATH_AGE_SLOPE * f.age
    log_h += sum(DEATH_CONDITION_LOG.get(c, 0.0) for c in f.conditions)
    log_h += DEATH_DEFICIT_LOG * f.deficit_count + MALE_DEATH_LOG * f.male + 0.8 * f.risk_effect
    log_h += 0.02 * (10 - f.imd_decile)
    return min(2.5, float(math.exp(log_h)))


def readmission_probability(rate: float) -> float:
    """Chance that an emergency discharge is followed by a readmission within 30 days."""
    return min(0.45, 0.075 * float((rate / 0.1) ** 0.35))


def ae_rate(f: RiskFactors, emergency: float) -> float:
    """A&E attendances a year that end without admission."""
    base = AE_BASE[activity_band(f.age)]
    return base * math.sqrt(emergency / EMERGENCY_BASE[activity_band(f.age)]) * 0.75


def elective_rate(f: RiskFactors) -> float:
    """Elective admissions (ordinary and day case) a year."""
    rate = ELECTIVE_BASE[activity_band(f.age)] * (1 + 0.12 * len(f.conditions))
    return rate * (3.0 if "cancer" in f.conditions else 1.0)


def outpatient_rate(f: RiskFactors) -> float:
    """Outpatient appointments a year."""
    return OUTPATIENT_BASE[activity_band(f.age)] * (1 + 0.22 * len(f.conditions))


def gp_rate(f: RiskFactors) -> float:
    """GP consultations a year (besides long-term condition reviews)."""
    rate = GP_BASE[activity_band(f.age)] * (1 + 0.12 * len(f.conditions) + 0.04 * f.deficit_count)
    return rate * (1.2 if not f.male and 18 <= f.age < 65 else 1.0) * 0.85
