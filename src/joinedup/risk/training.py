"""``joinedup risk train``: train at one date, validate at the next, compare with the baselines, store.

Baselines (all on the validation date, same people): a prior-utilisation count (emergency
admissions + A&E attendances + planned admissions in the last 12 months), the LACE index at the
last discharge, the Charlson index, logistic regression on the same features, and the naive
"two or more emergency admissions in 12 months" flag.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from joinedup.risk.errors import ModelNotFound, RiskError
from joinedup.risk.evaluation import (
    PUBLISHED_COMPARATORS,
    ScoreReport,
    evaluate_score,
    evaluate_subgroups,
    roc_points,
)
from joinedup.risk.features import build_features, feature_matrix
from joinedup.risk.model import (
    DEFAULT_SEED,
    HORIZON_DAYS,
    AdmissionModel,
    build_card,
    fit_admission_model,
    load_model,
    model_version,
    save_model,
)

logger = logging.getLogger(__name__)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

MIN_LOOK_BACK_DAYS = 365
CALIBRATION_SLOPE_TARGET = (0.9, 1.1)


@dataclass(frozen=True)
class TrainingResult:
    """What ``train_risk_model`` made: the model version, where it is stored, and its report."""

    version: str
    folder: Path
    report: dict[str, Any]
    seconds: float


def data_end_date(con: duckdb.DuckDBPyConnection) -> date:
    """The last day with activity in the warehouse (the latest encounter start)."""
    rows = con.sql("select max(start_date) from core.encounter").fetchall()
    last = rows[0][0] if rows else None
    if last is None:
        raise RiskError("the warehouse holds no encounters; ingest data and run `joinedup warehouse` first")
    return last if isinstance(last, date) else date.fromisoformat(str(last)[:10])


def default_index_dates(con: duckdb.DuckDBPyConnection, horizon_days: int = HORIZON_DAYS) -> tuple[date, date]:
    """Validation date = one horizon before the data ends; training date = one horizon before that."""
    end = data_end_date(con)
    validate_index = end + timedelta(days=1) - timedelta(days=horizon_days)
    return validate_index - timedelta(days=horizon_days), validate_index


def _check_dates(con: duckdb.DuckDBPyConnection, train_index: date, validate_index: date, horizon: int) -> None:
    if validate_index < train_index + timedelta(days=horizon):
        raise RiskError(
            "the validation date must be at least one outcome horizon after the training date, "
            "so that no training outcome falls in the validation period"
        )
    first = con.sql("select min(start_date) from core.encounter").fetchall()[0][0]
    if first is not None and train_index - timedelta(days=MIN_LOOK_BACK_DAYS) < first:
        raise RiskError(
            f"the data start {first} leaves less than {MIN_LOOK_BACK_DAYS} days of history before the training "
            f"date {train_index}; choose a later --train-index or load more history"
        )
    # A month's grace: monthly extracts end on the last activity, not on the calendar month end.
    if validate_index + timedelta(days=horizon) > data_end_date(con) + timedelta(days=31):
        raise RiskError(
            "the validation outcome window runs past the end of the data; choose an earlier --validate-index"
        )


def baseline_scores(frame: pl.DataFrame) -> dict[str, FloatArray]:
    """The simple scores the model must beat, computed on a feature frame."""
    def column(name: str) -> FloatArray:
        return frame[name].fill_null(0).cast(pl.Float64).to_numpy()

    return {
        "prior_utilisation_count": column("emergency_admissions_12m")
        + column("ae_attendances_12m")
        + column("other_admissions_12m"),
        "lace_last_discharge": column("lace_last_discharge"),
        "charlson_index": column("charlson_index"),
        "naive_two_or_more_admissions": (column("emergency_admissions_12m") >= 2).astype(np.float64),
    }


def subgroup_labels(frame: pl.DataFrame) -> dict[str, np.ndarray[Any, Any]]:
    """IMD quintile, ethnic group (ONS 2001 letter codes), sex and age band of each person."""
    ethnic_groups = {
        **dict.fromkeys("ABC", "White"),
        **dict.fromkeys("DEFG", "Mixed"),
        **dict.fromkeys("HJKL", "Asian or Asian British"),
        **dict.fromkeys("MNP", "Black or Black British"),
        **dict.fromkeys("RS", "Other ethnic group"),
    }
    labelled = frame.select(
        pl.when(pl.col("imd_decile").is_null()).then(pl.lit("unknown"))
        .otherwise(pl.lit("Q") + ((pl.col("imd_decile") + 1) // 2).cast(pl.String))
        .alias("imd_quintile"),
        pl.col("ethnicity_code").fill_null("").str.slice(0, 1).str.to_uppercase()
        .replace_strict(ethnic_groups, default="Not stated or unknown").alias("ethnicity"),
        pl.col("sex").fill_null("unknown").str.to_lowercase().alias("sex"),
        pl.when(pl.col("age_years") <= 17).then(pl.lit("0-17"))
        .when(pl.col("age_years") <= 44).then(pl.lit("18-44"))
        .when(pl.col("age_years") <= 64).then(pl.lit("45-64"))
        .when(pl.col("age_years") <= 74).then(pl.lit("65-74"))
        .when(pl.col("age_years") <= 84).then(pl.lit("75-84"))
        .otherwise(pl.lit("85+"))
        .alias("age_band"),
    )
    return {name: labelled[name].to_numpy() for name in labelled.columns}


def train_risk_model(
    con: duckdb.DuckDBPyConnection,
    *,
    models_dir: Path,
    train_index: date | None = None,
    validate_index: date | None = None,
    seed: int = DEFAULT_SEED,
    horizon_days: int = HORIZON_DAYS,
) -> TrainingResult:
    """Train the emergency admission model, validate it temporally, and store it with its card and report."""
    started = time.perf_counter()
    default_train, default_validate = default_index_dates(con, horizon_days)
    train_index = train_index or default_train
    validate_index = validate_index or default_validate
    _check_dates(con, train_index, validate_index, horizon_days)
    train = build_features(con, train_index, horizon_days=horizon_days)
    validate = build_features(con, validate_index, horizon_days=horizon_days)
    model = fit_admission_model(train, seed=seed)
    model.version = model_version(model, train_index)
    version = model.version
    report = evaluate_model(model, validate)
    report.update({
        "model_version": version,
        "train_index_date": train_index.isoformat(),
        "validation_index_date": validate_index.isoformat(),
        "horizon_days": horizon_days,
    })
    model.card = build_card(
        version=version, train_index=train_index, validate_index=validate_index, train=train, validate=validate,
        seed=seed, rounds=model.booster.current_iteration(), metrics=headline_metrics(report), ridge=model.ridge,
    )
    folder = save_model(model, models_dir)
    report["plots"] = write_plot_data(report, folder / "plots")
    report["seconds"] = round(time.perf_counter() - started, 1)
    (folder / "report.json").write_text(json.dumps(report, indent=2, default=_json_default))
    logger.info("risk model %s trained on %d people in %.1f s", version, train.height, report["seconds"])
    return TrainingResult(version=version, folder=folder, report=report, seconds=report["seconds"])


def _json_default(value: object) -> object:
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return str(value)


def evaluate_model(model: AdmissionModel, validate: pl.DataFrame) -> dict[str, Any]:
    """The validation report: model, baselines, targets, fairness and published comparators."""
    y = validate["outcome"].to_numpy().astype(np.float64)
    x = feature_matrix(validate)
    probability = model.predict(x)
    main = evaluate_score("lightgbm", y, probability, is_probability=True)
    # The logistic baseline is the model's own offset: the same features, fitted on every training person.
    assert model.offset is not None
    logistic = 1 / (1 + np.exp(-model.offset.margin(x)))
    baselines: list[ScoreReport] = [evaluate_score("logistic_regression", y, logistic, is_probability=True)]
    baselines += [evaluate_score(name, y, s, is_probability=False) for name, s in baseline_scores(validate).items()]
    comparison = [_compare(main, other) for other in baselines]
    assert main.calibration is not None
    slope = main.calibration.slope
    fairness = evaluate_subgroups(y, probability, subgroup_labels(validate), overall_auroc=main.auroc.value)
    return {
        "validation": {"people": main.people, "events": main.events, "event_rate": main.events / max(main.people, 1)},
        "model": main.as_dict(),
        "baselines": [b.as_dict() for b in baselines],
        "comparison": comparison,
        "targets": {
            "beats_every_baseline_on_auroc": all(c["model_better_auroc"] for c in comparison),
            "beats_every_baseline_on_ppv_top_1pct": all(c["model_better_ppv_top_1pct"] for c in comparison),
            "calibration_slope_within_0.9_1.1": CALIBRATION_SLOPE_TARGET[0] <= slope <= CALIBRATION_SLOPE_TARGET[1],
        },
        "fairness": fairness,
        "fairness_flags": [
            {"dimension": dimension, "group": row["group"], "departures": row["departures"]}
            for dimension, rows in fairness.items() for row in rows if row["departures"]
        ],
        "roc_curve": roc_points(y, probability),
        "published_comparators": list(PUBLISHED_COMPARATORS),
        "published_comparators_note": (
            "Published figures come from other populations, outcomes and horizons; they give context, "
            "not a like-for-like comparison."
        ),
        "reporting_guideline": "TRIPOD+AI (Collins et al., BMJ 2024): see docs/risk.md for the item map",
    }


def _top1(report: ScoreReport) -> float:
    return next(row["ppv"] for row in report.top if row["fraction"] == 0.01)


def _compare(model: ScoreReport, baseline: ScoreReport) -> dict[str, Any]:
    return {
        "baseline": baseline.name,
        "auroc_model": model.auroc.value,
        "auroc_baseline": baseline.auroc.value,
        "model_better_auroc": model.auroc.value > baseline.auroc.value,
        "ppv_top_1pct_model": _top1(model),
        "ppv_top_1pct_baseline": _top1(baseline),
        "model_better_ppv_top_1pct": _top1(model) > _top1(baseline),
    }


def headline_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a model card leads with."""
    model = report["model"]
    return {
        "auroc": model["auroc"]["value"],
        "auroc_95ci": [model["auroc"]["lower"], model["auroc"]["upper"]],
        "auprc": model["auprc"],
        "calibration_slope": model["calibration"]["slope"],
        "calibration_intercept": model["calibration"]["intercept"],
        "ppv_top_1pct": next(r["ppv"] for r in model["top"] if r["fraction"] == 0.01),
        "sensitivity_top_5pct": next(r["sensitivity"] for r in model["top"] if r["fraction"] == 0.05),
        "validation_people": report["validation"]["people"],
        "validation_events": report["validation"]["events"],
    }


def _matplotlib() -> Any:
    try:
        # matplotlib is a dependency; the guard keeps a slimmed install (no plots) working.
        import matplotlib  # type: ignore[import-not-found, unused-ignore]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    return plt


def write_plot_data(report: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Write the calibration and ROC plot data as CSV, and PNG/SVG plots when matplotlib is installed."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    rows = [{"model": "lightgbm", **row} for row in report["model"]["deciles"]]
    for baseline in report["baselines"]:
        rows += [{"model": baseline["name"], **row} for row in baseline["deciles"]]
    written.append(_write_csv(folder / "calibration_by_decile.csv", rows))
    written.append(_write_csv(folder / "roc_curve.csv", report["roc_curve"]))
    tops = [{"model": r["name"], **t} for r in [report["model"], *report["baselines"]] for t in r["top"]]
    written.append(_write_csv(folder / "ppv_sensitivity_top.csv", tops))
    plt = _matplotlib()
    if plt is None:
        return {"files": written, "note": "matplotlib is not installed: plot data written as CSV only"}
    for suffix in ("png", "svg"):
        figure, axis = plt.subplots(figsize=(5, 5))
        deciles = report["model"]["deciles"]
        axis.plot([d["mean_predicted"] for d in deciles], [d["observed_rate"] for d in deciles], "o-", label="model")
        top = max(d["mean_predicted"] for d in deciles)
        axis.plot([0, top], [0, top], "--", color="grey", label="ideal")
        axis.set(xlabel="mean predicted risk", ylabel="observed rate", title="Calibration by decile")
        axis.legend()
        path = folder / f"calibration.{suffix}"
        figure.savefig(path)
        plt.close(figure)
        written.append(str(path))
    return {"files": written, "note": "plots drawn with matplotlib"}


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> str:
    with path.open("w", newline="") as handle:
        if rows:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return str(path)


def load_report(models_dir: Path, version: str | None = None) -> dict[str, Any]:
    """The stored validation report of a model version (the latest by default)."""
    model = load_model(models_dir, version)
    path = models_dir / model.version / "report.json"
    if not path.exists():
        raise ModelNotFound(f"model {model.version} has no stored report; train it again")
    report: dict[str, Any] = json.loads(path.read_text())
    return report
