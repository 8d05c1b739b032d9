"""The 12-month emergency admission model: LightGBM, recalibrated, with a logistic-regression baseline.

Trained at one index date (features before it, outcome in the 12 months from it) and validated at
a later one (temporal validation). Stored with its model card under ``settings.home / "models"``:
``<version>/model.txt`` (LightGBM), ``card.json`` + ``card.md`` (the card), ``report.json`` (the
evaluation) and ``plots/`` (plot data as CSV, and PNG and SVG plots).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped, unused-ignore]

from joinedup.risk.codelists import CODELIST_VERSION
from joinedup.risk.errors import ModelNotFound, RiskError
from joinedup.risk.features import feature_matrix, model_feature_names

logger = logging.getLogger(__name__)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

HORIZON_DAYS = 365
DEFAULT_SEED = 20161
MODEL_NAME = "emergency-admission-12m"

LIGHTGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "deterministic": True,
    "force_row_wise": True,
    # One thread: on the shared 2-core machine a second one cost more CPU than it saved (benchmarks).
    "num_threads": 1,
    "verbose": -1,
}
MAX_ROUNDS = 800
EARLY_STOPPING_ROUNDS = 30
RIDGE = 1.0
RIDGE_GRID = (1.0, 10.0, 100.0, 1000.0, 10000.0)
RIDGE_SELECTION_ROWS = 40_000
RIDGE_FOLDS = 3
NEWTON_STEPS = 30
TREE_FOLDS = 3


def _newton(z: FloatArray, y: FloatArray, ridge: float, start: FloatArray) -> FloatArray:
    """Penalised logistic regression (intercept in column 0, not penalised) by Newton-Raphson."""
    penalty = np.full(z.shape[1], ridge)
    penalty[0] = 0.0
    beta = start.copy()
    for _ in range(NEWTON_STEPS):
        p = 1 / (1 + np.exp(-(z @ beta)))
        gradient = z.T @ (y - p) - penalty * beta
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + np.diag(penalty) + 1e-9 * np.eye(z.shape[1])
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-6:
            break
    return beta


@dataclass(frozen=True)
class LinearOffset:
    """A logistic regression the trees boost from: median imputation with missing flags, standardised,
    L2 penalty ``RIDGE`` (as scikit-learn's default C = 1).

    Kept as plain numbers (no pickle) so a stored model is data. Its per-feature terms are exact
    contributions (linear SHAP with the training mean as reference), added to the trees' TreeSHAP.
    """

    medians: list[float]
    indicator_columns: list[int]
    means: list[float]
    scales: list[float]
    coefficients: list[float]
    intercept: float

    @classmethod
    def fit(cls, x: FloatArray, y: FloatArray, ridge: float = RIDGE) -> LinearOffset:
        """Fit on a feature matrix (NaN = missing): L2-penalised logistic regression by Newton steps."""
        return cls.fit_path(x, y, (ridge,))[0]

    @classmethod
    def fit_path(cls, x: FloatArray, y: FloatArray, ridges: Sequence[float]) -> list[LinearOffset]:
        """One fit per penalty, in the order given, sharing the design and warm-starting each from the last."""
        missing = np.isnan(x)
        with warnings.catch_warnings():  # an all-missing column has no median: impute 0
            warnings.simplefilter("ignore", RuntimeWarning)
            medians = np.nan_to_num(np.nanmedian(x, axis=0), nan=0.0)
        indicator_columns = [int(c) for c in np.nonzero(missing.any(axis=0))[0]]
        design = np.column_stack([np.where(missing, medians[None, :], x), missing[:, indicator_columns]])
        means = design.mean(axis=0)
        scales = design.std(axis=0)
        scales[scales == 0] = 1.0
        z = np.column_stack([np.ones(len(design)), (design - means) / scales])
        beta = np.zeros(z.shape[1])
        fits = []
        # One BLAS thread: these matrices are small, and extra threads only spin on a busy machine.
        with threadpool_limits(limits=1, user_api="blas"):
            for ridge in ridges:
                beta = _newton(z, y, ridge, beta)
                fits.append(
                    cls(
                        medians=[float(v) for v in medians],
                        indicator_columns=indicator_columns,
                        means=[float(v) for v in means],
                        scales=[float(v) for v in scales],
                        coefficients=[float(v) for v in beta[1:]],
                        intercept=float(beta[0]),
                    )
                )
        return fits

    def _terms(self, x: FloatArray) -> FloatArray:
        missing = np.isnan(x)
        imputed = np.where(missing, np.asarray(self.medians)[None, :], x)
        design = np.column_stack([imputed, missing[:, self.indicator_columns].astype(np.float64)])
        z = (design - np.asarray(self.means)) / np.asarray(self.scales)
        terms: FloatArray = z * np.asarray(self.coefficients)
        return terms

    def margin(self, x: FloatArray) -> FloatArray:
        """The logistic regression's log-odds."""
        result: FloatArray = self.intercept + self._terms(x).sum(axis=1)
        return result

    def contributions(self, x: FloatArray) -> FloatArray:
        """Per-feature terms (a missing flag counts with its feature), then the intercept column."""
        terms = self._terms(x)
        features = x.shape[1]
        per_feature = terms[:, :features].copy()
        for position, column in enumerate(self.indicator_columns):
            per_feature[:, column] += terms[:, features + position]
        return np.column_stack([per_feature, np.full(len(x), self.intercept)])


@dataclass
class AdmissionModel:
    """A trained model: a logistic offset, boosted trees on top, the recalibration, and its card."""

    version: str
    booster: lgb.Booster
    recalibration_intercept: float
    recalibration_slope: float
    card: dict[str, Any]
    offset: LinearOffset | None = None
    ridge: float | None = None

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The features, in the order the trees were trained on."""
        return tuple(self.card["features"])

    def raw_margin(self, matrix: FloatArray) -> FloatArray:
        """Offset plus trees, before recalibration."""
        raw = np.asarray(self.booster.predict(matrix, raw_score=True), dtype=np.float64)
        return raw + (self.offset.margin(matrix) if self.offset is not None else 0.0)

    def margin(self, matrix: FloatArray) -> FloatArray:
        """The recalibrated log-odds of an emergency admission."""
        return self.recalibration_intercept + self.recalibration_slope * self.raw_margin(matrix)

    def predict(self, matrix: FloatArray) -> FloatArray:
        """The probability of an emergency admission in the next 12 months."""
        return 1 / (1 + np.exp(-self.margin(matrix)))

    def contributions(self, matrix: FloatArray) -> FloatArray:
        """Per-feature SHAP contributions to the recalibrated log-odds (TreeSHAP, ``pred_contrib``).

        The last column is the expected value; the rest add up to the margin.
        """
        raw = np.asarray(self.booster.predict(matrix, pred_contrib=True), dtype=np.float64)
        if self.offset is not None:
            raw = raw + self.offset.contributions(matrix)
        scaled = raw * self.recalibration_slope
        scaled[:, -1] += self.recalibration_intercept
        return scaled


def _log_loss(margin: FloatArray, y: FloatArray) -> float:
    return float(np.mean(np.logaddexp(0.0, margin) - y * margin))


def choose_ridge(x: FloatArray, y: FloatArray) -> float:
    """The L2 penalty of the logistic offset with the best 3-fold cross-validated log-loss (``RIDGE_GRID``).

    A small population with few events needs a much stronger penalty than a large one; choosing it
    by cross-validation keeps the validation calibration slope near 1 at every scale.
    """
    rows = np.random.default_rng(0).permutation(len(y))[:RIDGE_SELECTION_ROWS]
    folds = np.array_split(rows, RIDGE_FOLDS)
    strongest_first = sorted(RIDGE_GRID, reverse=True)
    losses = dict.fromkeys(RIDGE_GRID, 0.0)
    for fold in range(RIDGE_FOLDS):
        train_rows = np.concatenate([f for k, f in enumerate(folds) if k != fold])
        path = LinearOffset.fit_path(x[train_rows], y[train_rows], strongest_first)
        for ridge, offset in zip(strongest_first, path, strict=True):
            losses[ridge] += _log_loss(offset.margin(x[folds[fold]]), y[folds[fold]]) * len(folds[fold])
    return min(losses, key=lambda ridge: (losses[ridge], ridge))


def out_of_fold_margin(x: FloatArray, y: FloatArray, ridge: float, seed: int) -> FloatArray:
    """Each person's logistic log-odds from a fit on the other folds (``TREE_FOLDS`` folds, seeded)."""
    margin = np.zeros(len(y))
    for fold in np.array_split(np.random.default_rng(seed).permutation(len(y)), TREE_FOLDS):
        others = np.setdiff1d(np.arange(len(y)), fold, assume_unique=True)
        margin[fold] = LinearOffset.fit(x[others], y[others], ridge).margin(x[fold])
    return margin


def fit_admission_model(train: pl.DataFrame, *, seed: int = DEFAULT_SEED) -> AdmissionModel:
    """Fit the logistic offset and the boosted trees on the training frame.

    The trees boost from the logistic offset (LightGBM ``init_score``): additive effects are
    carried by the offset, interactions and thresholds by the trees. The offset's penalty is chosen
    by cross-validation; the trees start from cross-fitted offset log-odds, and their number is
    chosen by 3-fold cross-validated early stopping; then offset and trees are fitted on every
    training person. The recalibration stays at identity (slope 1, intercept 0) and is kept in the
    stored state for a later local recalibration.
    """
    if "outcome" not in train.columns:
        raise RiskError("the training frame has no outcome; build it with a horizon")
    x = feature_matrix(train)
    y = train["outcome"].to_numpy().astype(np.float64)
    if y.sum() < 10 or y.sum() > len(y) - 10:
        raise RiskError(
            f"too few people with and without an emergency admission to train ({int(y.sum())} of {len(y)}); "
            "use a larger population or a longer data window"
        )
    params = {**LIGHTGBM_PARAMS, "seed": seed}
    ridge = choose_ridge(x, y)
    # Cross-fitted offset: each person's starting log-odds come from a logistic regression that did not
    # see them, so the trees learn what the offset misses out of sample, not its in-sample overfit.
    start = out_of_fold_margin(x, y, ridge, seed)
    data = lgb.Dataset(x, label=y, feature_name=list(model_feature_names()), init_score=start, free_raw_data=False)
    history = lgb.cv(
        params,
        data,
        num_boost_round=MAX_ROUNDS,
        nfold=TREE_FOLDS,
        stratified=True,
        seed=seed,
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    losses: list[float] = history["valid binary_logloss-mean"]  # type: ignore[assignment, unused-ignore]
    rounds = max(len(losses), 1)
    booster = lgb.train(params, data, num_boost_round=rounds)
    offset = LinearOffset.fit(x, y, ridge)
    return AdmissionModel("unsaved", booster, 0.0, 1.0, card={}, offset=offset, ridge=ridge)


def model_version(model: AdmissionModel, train_index: date) -> str:
    """A version that names the training date and the model's content (same data + seed → same version)."""
    content = model.booster.model_to_string() + json.dumps(_state(model), sort_keys=True)
    digest = hashlib.sha256(content.encode()).hexdigest()[:8]
    return f"eadm-{train_index:%Y%m%d}-{digest}"


def build_card(
    *,
    version: str,
    train_index: date,
    validate_index: date,
    train: pl.DataFrame,
    validate: pl.DataFrame,
    seed: int,
    rounds: int,
    metrics: dict[str, Any],
    ridge: float | None = None,
) -> dict[str, Any]:
    """The model card (TRIPOD+AI items that apply to a locally trained model)."""
    return {
        "model": MODEL_NAME,
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "outcome": "one or more emergency (non-elective) hospital admissions in the 365 days from the index date",
        "intended_use": (
            "Direct care: to help general practices and the care coordination centre find people who may "
            "benefit from proactive, anticipatory care. A prompt for clinical review, not a diagnosis; not for "
            "rationing care, for individual prognosis conversations without clinical judgement, or for "
            "populations outside the one it was trained on."
        ),
        "data_window": {
            "train_index_date": train_index.isoformat(),
            "train_outcome_window": [train_index.isoformat(), validate_index.isoformat()],
            "validation_index_date": validate_index.isoformat(),
            "features_look_back": "all coded history for conditions; 12-24 months for activity; 15 months for labs",
            "train_people": train.height,
            "train_events": int(train["outcome"].sum()),
            "validation_people": validate.height,
            "validation_events": int(validate["outcome"].sum()),
        },
        "population": "everyone in the warehouse's core.person alive and born before the index date",
        "features": list(model_feature_names()),
        "algorithm": {
            "kind": (
                "LightGBM gradient-boosted trees boosted from a logistic-regression offset (init_score); "
                "trees start from cross-fitted offset log-odds; "
                "number of trees by 3-fold cross-validated early stopping"
            ),
            "params": {**LIGHTGBM_PARAMS, "seed": seed},
            "rounds": rounds,
            "logistic_offset_ridge": ridge,
        },
        "codelist_version": CODELIST_VERSION,
        "metrics": metrics,
        "limits": [
            "Trained and validated on one place's data; recalibrate before use elsewhere.",
            "Coding completeness varies by practice and setting; missing codes lower scores.",
            "People flagged as high risk regress to the mean: falls in their admissions are not evidence of "
            "impact without a matched comparison group (Roland 2005; the PRISM trial saw admissions rise).",
            "Explanations are the model's contributions (SHAP), not causes.",
            "Subgroup results with fewer than 20 events are shown but not judged.",
        ],
    }


def save_model(model: AdmissionModel, models_dir: Path) -> Path:
    """Write the model and its card to ``models_dir/<version>/``; returns that folder."""
    folder = models_dir / model.version
    folder.mkdir(parents=True, exist_ok=True)
    model.booster.save_model(str(folder / "model.txt"))
    (folder / "recalibration.json").write_text(json.dumps(_state(model), indent=2))
    (folder / "card.json").write_text(json.dumps(model.card, indent=2, default=str))
    (folder / "card.md").write_text(card_markdown(model.card))
    (models_dir / "LATEST").write_text(model.version)
    return folder


def load_model(models_dir: Path, version: str | None = None) -> AdmissionModel:
    """The named model version, or the latest one trained in this home."""
    if version is None:
        latest = models_dir / "LATEST"
        if not latest.exists():
            raise ModelNotFound("no risk model in this home yet; run `joinedup risk train` first")
        version = latest.read_text().strip()
    folder = models_dir / version
    if not (folder / "model.txt").exists():
        raise ModelNotFound(f"no risk model version {version!r} in this home")
    state = json.loads((folder / "recalibration.json").read_text())
    offset = LinearOffset(**state["offset"]) if state.get("offset") else None
    return AdmissionModel(
        version=version,
        booster=lgb.Booster(model_file=str(folder / "model.txt")),
        recalibration_intercept=float(state["recalibration_intercept"]),
        recalibration_slope=float(state["recalibration_slope"]),
        card=json.loads((folder / "card.json").read_text()),
        offset=offset,
    )


def _state(model: AdmissionModel) -> dict[str, Any]:
    return {
        "recalibration_intercept": model.recalibration_intercept,
        "recalibration_slope": model.recalibration_slope,
        "offset": asdict(model.offset) if model.offset is not None else None,
    }


def card_markdown(card: dict[str, Any]) -> str:
    """The model card as a short Markdown page for people."""
    window = card["data_window"]
    metrics = card.get("metrics", {})
    lines = [
        f"# Model card: {card['model']} {card['version']}",
        "",
        f"**Outcome**: {card['outcome']}.",
        "",
        f"**Intended use**: {card['intended_use']}",
        "",
        "## Data window",
        f"- trained at index date {window['train_index_date']} ({window['train_people']} people, "
        f"{window['train_events']} with the outcome)",
        f"- validated at index date {window['validation_index_date']} ({window['validation_people']} people, "
        f"{window['validation_events']} with the outcome): temporal validation",
        f"- look-back: {window['features_look_back']}",
        "",
        f"## Features ({len(card['features'])})",
        ", ".join(card["features"]),
        "",
        "## Validation metrics",
    ]
    for key, value in metrics.items():
        lines.append(f"- {key}: {value if not isinstance(value, float) or math.isnan(value) else round(value, 4)}")
    lines += ["", "## Limits"] + [f"- {limit}" for limit in card["limits"]]
    return "\n".join(lines) + "\n"
