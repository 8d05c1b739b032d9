"""How well a risk score works, reported the way the literature does (TRIPOD+AI; SPARRA v4 report).

Discrimination (AUROC with a DeLong 95 % confidence interval, AUPRC), calibration (slope and
intercept by logistic recalibration, observed vs predicted by decile), PPV and sensitivity at the
top 0.5 / 1 / 5 % of the population, and the same by subgroup with material departures flagged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.metrics import average_precision_score

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

TOP_FRACTIONS = (0.005, 0.01, 0.05)

# A subgroup is flagged when, with at least MIN_GROUP_EVENTS events, its observed/expected ratio
# leaves [0.8, 1.25] or its AUROC is more than 0.05 below the whole population's.
MIN_GROUP_EVENTS = 20
OE_LIMITS = (0.8, 1.25)
AUROC_SHORTFALL = 0.05

# Published results on OTHER data, for context only (issue 7); never compared as like for like.
PUBLISHED_COMPARATORS = (
    {"model": "SPARRA v4", "measure": "AUROC", "value": 0.799, "outcome": "12-month emergency admission",
     "data": "Scotland, whole population (predecessor SPARRA v3: 0.781)"},
    {"model": "QAdmissions", "measure": "AUROC", "value": "0.764-0.783", "outcome": "2-year emergency admission",
     "data": "England, QResearch general practices"},
    {"model": "PARR", "measure": "PPV at score 50", "value": 0.65, "outcome": "12-month readmission",
     "data": "England, HES"},
    {"model": "LACE", "measure": "C statistic", "value": 0.684, "outcome": "30-day readmission or death",
     "data": "Ontario (van Walraven 2010)"},
    {"model": "HOSPITAL", "measure": "C statistic", "value": 0.72,
     "outcome": "30-day potentially avoidable readmission",
     "data": "international cohort (Donzé 2016)"},
    {"model": "naive >= 2 admissions in 12 months", "measure": "C statistic", "value": 0.62,
     "outcome": "future emergency admission", "data": "literature figure"},
)


@dataclass(frozen=True)
class Auroc:
    """Area under the ROC curve with its DeLong 95 % confidence interval."""

    value: float
    lower: float
    upper: float


def auroc_with_ci(outcome: FloatArray, score: FloatArray) -> Auroc:
    """AUROC (ties count a half) and DeLong's 95 % confidence interval."""
    y = np.asarray(outcome) > 0
    s = np.asarray(score, dtype=np.float64)
    positives, negatives = s[y], s[~y]
    m, n = len(positives), len(negatives)
    if m == 0 or n == 0:
        return Auroc(math.nan, math.nan, math.nan)
    all_ranks = rankdata(np.concatenate([positives, negatives]))
    pos_ranks = rankdata(positives)
    neg_ranks = rankdata(negatives)
    auc = (all_ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (all_ranks[:m] - pos_ranks) / n  # structural components (Sun & Xu 2014)
    v01 = 1 - (all_ranks[m:] - neg_ranks) / m
    variance = np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n if m > 1 and n > 1 else 0.0
    se = math.sqrt(max(variance, 0.0))
    z = float(norm.ppf(0.975))
    return Auroc(float(auc), float(max(0.0, auc - z * se)), float(min(1.0, auc + z * se)))


def _logit(p: FloatArray) -> FloatArray:
    clipped = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(clipped / (1 - clipped))


def fit_logistic(x: FloatArray, y: FloatArray, offset: FloatArray | None = None) -> FloatArray:
    """Unpenalised logistic regression by Newton-Raphson (x includes the intercept column)."""
    beta = np.zeros(x.shape[1])
    base = np.zeros(len(y)) if offset is None else offset
    for _ in range(50):
        eta = x @ beta + base
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p)
        hessian = x.T @ (x * w[:, None]) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, x.T @ (y - p))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


@dataclass(frozen=True)
class Calibration:
    """Calibration slope (ideal 1) and calibration-in-the-large intercept (ideal 0)."""

    slope: float
    intercept: float


def calibration(outcome: FloatArray, probability: FloatArray) -> Calibration:
    """Slope from ``logit P(y) = a + b logit(p)``; intercept from ``logit P(y) = a + logit(p)``."""
    y = np.asarray(outcome, dtype=np.float64)
    lp = _logit(np.asarray(probability, dtype=np.float64))
    ones = np.ones_like(lp)
    slope = fit_logistic(np.column_stack([ones, lp]), y)[1]
    intercept = fit_logistic(ones[:, None], y, offset=lp)[0]
    return Calibration(slope=float(slope), intercept=float(intercept))


def calibration_by_decile(outcome: FloatArray, probability: FloatArray) -> list[dict[str, float]]:
    """Mean predicted and observed rate in each tenth of the population by predicted risk."""
    order = np.argsort(probability, kind="stable")
    rows = []
    for decile, chunk in enumerate(np.array_split(order, 10), start=1):
        if len(chunk) == 0:
            continue
        rows.append({
            "decile": decile,
            "people": len(chunk),
            "mean_predicted": float(np.mean(probability[chunk])),
            "observed_rate": float(np.mean(outcome[chunk])),
        })
    return rows


def top_ranked(score: FloatArray, fraction: float, seed: int = 0) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Indices of the top ``fraction`` of people by score; ties broken at random (seeded), not by order."""
    k = max(1, math.ceil(fraction * len(score)))
    jitter = np.random.default_rng(seed).random(len(score))
    order = np.lexsort((jitter, -np.asarray(score, dtype=np.float64)))
    return order[:k]


def ppv_sensitivity(outcome: FloatArray, score: FloatArray, fraction: float) -> dict[str, float]:
    """PPV and sensitivity when the top ``fraction`` of people by score are flagged."""
    top = top_ranked(score, fraction)
    events = float(np.sum(outcome))
    hits = float(np.sum(outcome[top]))
    return {
        "fraction": fraction,
        "flagged": len(top),
        "ppv": hits / len(top),
        "sensitivity": hits / events if events else math.nan,
    }


@dataclass
class ScoreReport:
    """Every measure of one score on one population."""

    name: str
    people: int
    events: int
    auroc: Auroc
    auprc: float
    top: list[dict[str, float]]
    calibration: Calibration | None = None
    deciles: list[dict[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def evaluate_score(name: str, outcome: FloatArray, score: FloatArray, *, is_probability: bool) -> ScoreReport:
    """Discrimination and top-k for any score; calibration too when it is a probability."""
    y = np.asarray(outcome, dtype=np.float64)
    s = np.asarray(score, dtype=np.float64)
    report = ScoreReport(
        name=name,
        people=len(y),
        events=int(y.sum()),
        auroc=auroc_with_ci(y, s),
        auprc=float(average_precision_score(y, s)) if 0 < y.sum() < len(y) else math.nan,
        top=[ppv_sensitivity(y, s, f) for f in TOP_FRACTIONS],
    )
    if is_probability:
        report.calibration = calibration(y, s)
        report.deciles = calibration_by_decile(y, s)
    return report


def evaluate_subgroups(
    outcome: FloatArray,
    probability: FloatArray,
    groups: dict[str, np.ndarray[Any, Any]],
    *,
    overall_auroc: float,
) -> dict[str, list[dict[str, Any]]]:
    """Measures by subgroup (IMD quintile, ethnicity, sex, age band), departures flagged.

    PPV and sensitivity use the WHOLE population's top-5 % threshold, so a group's figures say how
    the list a practice actually gets treats that group.
    """
    y = np.asarray(outcome, dtype=np.float64)
    p = np.asarray(probability, dtype=np.float64)
    flagged = np.zeros(len(y), dtype=bool)
    flagged[top_ranked(p, 0.05)] = True
    result: dict[str, list[dict[str, Any]]] = {}
    for dimension, labels in groups.items():
        rows = []
        text = np.asarray(labels).astype(str)
        for label in sorted(set(text.tolist())):
            mask = text == label
            events = int(y[mask].sum())
            expected = float(p[mask].sum())
            row: dict[str, Any] = {
                "group": label,
                "people": int(mask.sum()),
                "events": events,
                "observed_rate": float(y[mask].mean()) if mask.any() else math.nan,
                "mean_predicted": float(p[mask].mean()) if mask.any() else math.nan,
                "observed_to_expected": events / expected if expected else math.nan,
                "auroc": auroc_with_ci(y[mask], p[mask]).value if 0 < events < mask.sum() else math.nan,
                "flagged_in_top_5pct": int(flagged[mask].sum()),
                "ppv_top_5pct": float(y[mask & flagged].mean()) if (mask & flagged).any() else math.nan,
                "sensitivity_top_5pct": float(y[mask & flagged].sum() / events) if events else math.nan,
            }
            row["departures"] = _departures(row, overall_auroc)
            rows.append(row)
        result[dimension] = rows
    return result


def _departures(row: dict[str, Any], overall_auroc: float) -> list[str]:
    if row["events"] < MIN_GROUP_EVENTS:
        return []
    reasons = []
    ratio = row["observed_to_expected"]
    if not OE_LIMITS[0] <= ratio <= OE_LIMITS[1]:
        reasons.append(f"calibration: observed/expected {ratio:.2f} outside {OE_LIMITS[0]}-{OE_LIMITS[1]}")
    if not math.isnan(row["auroc"]) and row["auroc"] < overall_auroc - AUROC_SHORTFALL:
        reasons.append(f"discrimination: AUROC {row['auroc']:.3f} more than {AUROC_SHORTFALL} below overall")
    return reasons


def roc_points(outcome: FloatArray, score: FloatArray, points: int = 50) -> list[dict[str, float]]:
    """The ROC curve at ``points`` evenly spaced score quantiles (plot data)."""
    y = np.asarray(outcome, dtype=np.float64)
    s = np.asarray(score, dtype=np.float64)
    positives, negatives = max(y.sum(), 1.0), max(len(y) - y.sum(), 1.0)
    rows = []
    for threshold in np.unique(np.quantile(s, np.linspace(0, 1, points))):
        flagged = s >= threshold
        rows.append({
            "threshold": float(threshold),
            "sensitivity": float((flagged & (y > 0)).sum() / positives),
            "false_positive_rate": float((flagged & (y == 0)).sum() / negatives),
        })
    return rows
