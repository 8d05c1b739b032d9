"""Per-person explanations: the model's top contributing factors, said in plain words.

Contributions are LightGBM's TreeSHAP values (``predict(..., pred_contrib=True)``), so no extra
package is needed. Only factors that RAISE the person's risk and that describe something present
(a count above zero, a condition recorded, a lab value) are said; "no admissions" is never a reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from joinedup.risk.codelists import charlson_category_names, efi_deficit_names, long_term_condition_names
from joinedup.risk.frailty import efi_category

TOP_REASONS = 3

# Charlson conditions said in the same words as the eFI deficit they overlap, so a person's reasons
# do not give one condition twice ("congestive heart failure; heart failure").
_SAME_WORDS = {
    "cc_congestive_heart_failure": "heart failure",
    "cc_chronic_pulmonary_disease": "respiratory disease",
    "cc_peptic_ulcer_disease": "peptic ulcer",
    "cc_diabetes_without_complication": "diabetes",
    "cc_diabetes_with_complication": "diabetes with complications",
    "cc_renal_disease": "chronic kidney disease",
    "cc_any_malignancy": "cancer",
    "cc_metastatic_solid_tumour": "metastatic cancer",
}


def _plural(count: float, one: str, many: str) -> str:
    number = int(count)
    return f"{number} {one if number == 1 else many}"


_COUNT_PHRASES: dict[str, Callable[[float], str]] = {
    "emergency_admissions_12m": lambda v: (
        f"{_plural(v, 'emergency admission', 'emergency admissions')} in last 12 months"
    ),
    "other_admissions_12m": lambda v: f"{_plural(v, 'planned admission', 'planned admissions')} in last 12 months",
    "bed_days_12m": lambda v: f"{_plural(v, 'day', 'days')} in hospital in last 12 months",
    "ae_attendances_6m": lambda v: f"{_plural(v, 'A&E attendance', 'A&E attendances')} in last 6 months",
    "ae_attendances_12m": lambda v: f"{_plural(v, 'A&E attendance', 'A&E attendances')} in last 12 months",
    "outpatient_attendances_12m": lambda v: (
        f"{_plural(v, 'outpatient appointment', 'outpatient appointments')} in last 12 months"
    ),
    "gp_contacts_12m": lambda v: f"{_plural(v, 'GP contact', 'GP contacts')} in last 12 months",
    "community_contacts_12m": lambda v: (
        f"{_plural(v, 'community nursing or therapy contact', 'community nursing or therapy contacts')}"
        " in last 12 months"
    ),
    "social_care_contacts_12m": lambda v: (
        f"receiving social care ({_plural(v, 'contact', 'contacts')} in last 12 months)"
    ),
    "telehealth_readings_90d": lambda v: (
        f"{_plural(v, 'telehealth reading', 'telehealth readings')} in last 3 months"
    ),
    "medicines_12m": lambda v: f"{_plural(v, 'different medicine', 'different medicines')} in last 12 months",
    "lace_last_discharge": lambda v: f"LACE {int(v)} at last discharge",
    "multimorbidity_count": lambda v: f"{_plural(v, 'long-term condition', 'long-term conditions')}",
    "charlson_index": lambda v: f"Charlson comorbidity index {int(v)}",
}


def _value_phrase(feature: str, value: float) -> str | None:
    """The plain-words reason for a feature at a value, or None when there is nothing to say."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if feature in _COUNT_PHRASES:
        return _COUNT_PHRASES[feature](value) if value > 0 else None
    if feature == "efi_count":
        return f"eFI {efi_category(int(value))} ({int(value)} of 36 deficits)" if value > 0 else None
    if feature == "days_since_emergency_admission":
        return f"emergency admission {int(value)} days ago"
    if feature == "hba1c_mmol_mol":
        return f"HbA1c {value:.0f} mmol/mol"
    if feature == "egfr":
        return f"eGFR {value:.0f} mL/min/1.73m2"
    if feature == "age_years":
        return f"age {int(value)}"
    if feature == "sex_female":
        return "female" if value == 1 else "male"
    if feature == "imd_decile":
        return f"lives in IMD decile {int(value)} (1 = most deprived)"
    if feature in _SAME_WORDS and value == 1:
        return _SAME_WORDS[feature]
    if feature.startswith(("cc_", "ltc_")) and value == 1:
        if feature.startswith("ltc_"):
            return feature[4:].replace("_", " ")
        return feature[3:].replace("_", " ")
    if feature.startswith("efi_") and value == 1:
        name = feature[4:]
        if name == "polypharmacy":
            return "5 or more different medicines (polypharmacy)"
        return name.replace("_", " ")
    return None


def _sayable(matrix: np.ndarray[Any, np.dtype[np.float64]], feature_names: tuple[str, ...]) -> np.ndarray[Any, Any]:
    """Where a feature's value describes something present, so that it can be given as a reason."""
    present: np.ndarray[Any, Any] = ~np.isnan(matrix)
    with np.errstate(invalid="ignore"):
        for column, name in enumerate(feature_names):
            if name in _COUNT_PHRASES or name == "efi_count":
                present[:, column] &= matrix[:, column] > 0
            elif name.startswith(("cc_", "efi_", "ltc_")):
                present[:, column] &= matrix[:, column] == 1
    return present


def explain_many(
    contributions: np.ndarray[Any, np.dtype[np.float64]],
    matrix: np.ndarray[Any, np.dtype[np.float64]],
    feature_names: tuple[str, ...],
    *,
    top: int = TOP_REASONS,
) -> list[list[str]]:
    """The top reasons of many people at once (rows of ``matrix`` with their SHAP rows)."""
    width = len(feature_names)
    strength = np.where(_sayable(matrix, feature_names), contributions[:, :width], -np.inf)
    strength[strength <= 0] = -np.inf
    spare = min(width, top + 3)  # a few extra in case two features say the same thing
    candidates = np.argsort(-strength, axis=1, kind="stable")[:, :spare]
    reasons: list[list[str]] = []
    for row in range(len(matrix)):
        said: list[str] = []
        for column in candidates[row]:
            if strength[row, column] == -np.inf or len(said) == top:
                break
            phrase = _value_phrase(feature_names[column], float(matrix[row, column]))
            if phrase and phrase not in said:
                said.append(phrase)
        reasons.append(said)
    return reasons


def explain(
    contributions: np.ndarray[Any, np.dtype[np.float64]],
    values: Mapping[str, float],
    feature_names: tuple[str, ...],
    *,
    top: int = TOP_REASONS,
) -> list[str]:
    """The top reasons for one person, strongest first.

    Args:
        contributions: the person's SHAP row (one value per feature, then the expected value).
        values: the person's feature values by name.
        feature_names: the model's features, in the order of ``contributions``.
    """
    row = np.array([[values[name] for name in feature_names]], dtype=np.float64)
    return explain_many(contributions[None, :], row, feature_names, top=top)[0]


def known_features() -> set[str]:
    """Every feature an explanation can be phrased for (a test checks the model uses only these)."""
    return (
        set(_COUNT_PHRASES)
        | {"efi_count", "days_since_emergency_admission", "hba1c_mmol_mol", "egfr", "age_years", "sex_female"}
        | {"imd_decile"}
        | {f"cc_{name}" for name in charlson_category_names()}
        | {f"efi_{name}" for name in efi_deficit_names()}
        | {f"ltc_{name}" for name in long_term_condition_names()}
    )
