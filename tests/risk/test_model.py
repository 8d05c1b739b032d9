"""The admission model on a generated borough with known latent risk: signal, calibration, baselines,
reproducibility, explanations and the stored model card."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.stats import spearmanr

from joinedup.risk.explanations import explain, known_features
from joinedup.risk.features import build_features, feature_matrix, model_feature_names
from joinedup.risk.model import fit_admission_model, load_model
from joinedup.risk.training import TrainingResult

from .borough import BoroughTruth
from .conftest import TRAIN_INDEX, VALIDATE_INDEX

SIMPLE_BASELINES = ("prior_utilisation_count", "lace_last_discharge", "charlson_index", "naive_two_or_more_admissions")


def test_scores_recover_the_generator_latent_risk(
    borough: tuple[duckdb.DuckDBPyConnection, BoroughTruth], trained: TrainingResult, models_dir: Path
) -> None:
    con, truth = borough
    frame = build_features(con, VALIDATE_INDEX)
    model = load_model(models_dir, trained.version)
    predicted = model.predict(feature_matrix(frame))
    # The true admission rate in the validation year (months 48-59 of the generator) per person.
    true_rate = dict(zip(truth.person_ids, truth.monthly_rate[:, 48:60].sum(axis=1), strict=True))
    rho = spearmanr(predicted, [true_rate[p] for p in frame["person_id"]]).statistic
    assert rho > 0.6


def test_validation_calibration_is_within_bounds(trained: TrainingResult) -> None:
    calibration = trained.report["model"]["calibration"]
    # Issue 7's target band is 0.9-1.1; on 8,000 generated people the slope's standard error is about 0.05.
    assert 0.85 <= calibration["slope"] <= 1.15
    assert abs(calibration["intercept"]) < 0.15
    deciles = trained.report["model"]["deciles"]
    assert len(deciles) == 10
    top = deciles[-1]
    assert abs(top["observed_rate"] - top["mean_predicted"]) < 0.08


def test_model_beats_the_simple_baselines_and_matches_logistic_regression(trained: TrainingResult) -> None:
    comparison = {row["baseline"]: row for row in trained.report["comparison"]}
    for name in SIMPLE_BASELINES:
        assert comparison[name]["model_better_auroc"], name
        assert comparison[name]["ppv_top_1pct_model"] > comparison[name]["ppv_top_1pct_baseline"], name
    # The generator's risk is mostly log-linear, so logistic regression is a hard baseline here.
    logistic = comparison["logistic_regression"]
    assert logistic["auroc_model"] >= logistic["auroc_baseline"] - 0.01


def test_report_has_the_measures_the_literature_reports(trained: TrainingResult) -> None:
    report = trained.report
    auroc = report["model"]["auroc"]
    assert auroc["lower"] < auroc["value"] < auroc["upper"]
    assert [row["fraction"] for row in report["model"]["top"]] == [0.005, 0.01, 0.05]
    assert set(report["fairness"]) == {"imd_quintile", "ethnicity", "sex", "age_band"}
    assert {row["group"] for row in report["fairness"]["imd_quintile"]} == {"Q1", "Q2", "Q3", "Q4", "Q5"}
    people = sum(row["people"] for row in report["fairness"]["age_band"])
    assert people == report["validation"]["people"] == 8000
    assert {c["model"] for c in report["published_comparators"]} >= {"SPARRA v4", "QAdmissions", "LACE", "HOSPITAL"}
    assert (trained.folder / "plots" / "calibration_by_decile.csv").exists()


def test_model_card_is_stored_with_the_model(trained: TrainingResult, models_dir: Path) -> None:
    card = json.loads((trained.folder / "card.json").read_text())
    assert card["version"] == trained.version
    assert card["data_window"]["train_index_date"] == TRAIN_INDEX.isoformat()
    assert card["data_window"]["validation_index_date"] == VALIDATE_INDEX.isoformat()
    assert card["features"] == list(model_feature_names())
    assert card["intended_use"].startswith("Direct care")
    assert len(card["limits"]) >= 4
    assert (models_dir / "LATEST").read_text() == trained.version
    assert "## Limits" in (trained.folder / "card.md").read_text()


def test_same_seed_same_model(borough: tuple[duckdb.DuckDBPyConnection, BoroughTruth]) -> None:
    con, _ = borough
    frame = build_features(con, TRAIN_INDEX, horizon_days=365).head(2000)
    first = fit_admission_model(frame, seed=11)
    second = fit_admission_model(frame, seed=11)
    assert first.booster.model_to_string() == second.booster.model_to_string()
    x = feature_matrix(frame)
    assert np.array_equal(first.predict(x), second.predict(x))


def test_contributions_add_up_to_the_prediction(
    borough: tuple[duckdb.DuckDBPyConnection, BoroughTruth], trained: TrainingResult, models_dir: Path
) -> None:
    con, _ = borough
    model = load_model(models_dir, trained.version)
    x = feature_matrix(build_features(con, VALIDATE_INDEX).head(200))
    assert np.allclose(model.contributions(x).sum(axis=1), model.margin(x), atol=1e-6)


def test_every_feature_can_be_explained_in_words() -> None:
    assert set(model_feature_names()) <= known_features()


def test_top_reason_changes_when_its_input_changes(
    borough: tuple[duckdb.DuckDBPyConnection, BoroughTruth], trained: TrainingResult, models_dir: Path
) -> None:
    con, _ = borough
    model = load_model(models_dir, trained.version)
    names = model.feature_names
    frame = build_features(con, VALIDATE_INDEX)
    scores = model.predict(feature_matrix(frame))
    person = frame[int(np.argmax(scores))]  # the highest-risk person
    x = feature_matrix(person)
    contributions = model.contributions(x)[0]
    top_feature = names[int(np.argmax(contributions[: len(names)]))]
    values = dict(zip(names, x[0].tolist(), strict=True))
    reasons = explain(contributions, values, names)
    assert top_feature in {"emergency_admissions_12m", "ae_attendances_12m", "ae_attendances_6m", "bed_days_12m"}
    assert reasons[0].startswith(f"{int(values[top_feature])} ")
    # Take that input away: the reason goes, another leads, and the risk falls.
    changed = person.with_columns(pl.lit(0).alias(top_feature))
    xc = feature_matrix(changed)
    changed_values = dict(zip(names, xc[0].tolist(), strict=True))
    changed_reasons = explain(model.contributions(xc)[0], changed_values, names)
    assert changed_reasons
    assert changed_reasons[0] != reasons[0]
    assert reasons[0] not in changed_reasons
    assert model.predict(xc)[0] < model.predict(x)[0]


def test_explanations_say_lab_values_and_frailty_in_plain_words() -> None:
    names = ("hba1c_mmol_mol", "efi_count", "emergency_admissions_12m", "age_years")
    values = {"hba1c_mmol_mol": 86.0, "efi_count": 14.0, "emergency_admissions_12m": 3.0, "age_years": 81.0}
    contributions = np.array([0.9, 0.5, 1.2, -0.3, -2.0])
    assert explain(contributions, values, names) == [
        "3 emergency admissions in last 12 months", "HbA1c 86 mmol/mol", "eFI severe (14 of 36 deficits)",
    ]


def test_a_condition_coded_in_two_lists_is_given_once() -> None:
    names = ("cc_congestive_heart_failure", "efi_heart_failure", "ltc_cancer", "cc_any_malignancy")
    values = dict.fromkeys(names, 1.0)
    assert explain(np.array([0.8, 0.7, 0.6, 0.5, -1.0]), values, names) == ["heart failure", "cancer"]
