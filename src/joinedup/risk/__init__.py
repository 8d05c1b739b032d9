"""Risk stratification: eFI frailty, LACE, Charlson, the 12-month emergency admission model, cohorts.

Owns the risk code lists (``codelists/``, versioned data with sources), the features computed from
the warehouse's ``core.*`` tables strictly before a prediction date, the model (LightGBM boosted
from a logistic offset) with its card and validation report, per-person explanations, stored
scores (``risk_score``), practice cohorts for direct care (through governance), and matched
comparisons for impact claims. May import ``warehouse``, ``governance``, ``store`` and ``model``;
never ``coordination``, ``reporting``, ``web`` or ``cli``.
"""

from joinedup.risk.charlson import charlson_conditions, charlson_index
from joinedup.risk.cohorts import Cohort, CohortEntry, InPlace, practice_cohort, practice_cohort_report
from joinedup.risk.errors import ModelNotFound, RiskError
from joinedup.risk.features import build_features, lace_at_discharge, model_feature_names
from joinedup.risk.frailty import efi_category, efi_deficits, efi_value
from joinedup.risk.impact import ImpactEstimate, compare_with_matched_group
from joinedup.risk.lace import LaceScore, lace_score
from joinedup.risk.model import AdmissionModel, load_model
from joinedup.risk.scoring import (
    PersonRisk,
    ScoringSummary,
    band_for_rank,
    latest_person_risk,
    rescore_population,
    score_population,
)
from joinedup.risk.training import TrainingResult, load_report, train_risk_model
from joinedup.risk.warehouse_access import open_risk_warehouse

__all__ = [
    "AdmissionModel",
    "Cohort",
    "CohortEntry",
    "ImpactEstimate",
    "InPlace",
    "LaceScore",
    "ModelNotFound",
    "PersonRisk",
    "RiskError",
    "ScoringSummary",
    "TrainingResult",
    "band_for_rank",
    "build_features",
    "charlson_conditions",
    "charlson_index",
    "compare_with_matched_group",
    "efi_category",
    "efi_deficits",
    "efi_value",
    "lace_at_discharge",
    "lace_score",
    "latest_person_risk",
    "load_model",
    "load_report",
    "model_feature_names",
    "open_risk_warehouse",
    "practice_cohort",
    "practice_cohort_report",
    "rescore_population",
    "score_population",
    "train_risk_model",
]
