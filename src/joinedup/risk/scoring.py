"""``joinedup risk score``: rescore the whole population with the current model and keep the scores.

Scores are stored in ``risk_score`` with the model version and the as-of date; rescoring the same
date with the same model replaces that run, so running it again after a load is safe.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import duckdb
import numpy as np
import polars as pl
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from joinedup.governance import authorise
from joinedup.model import Actor
from joinedup.risk.explanations import explain_many
from joinedup.risk.features import build_features, feature_matrix
from joinedup.risk.model import AdmissionModel, load_model
from joinedup.risk.training import data_end_date
from joinedup.risk.warehouse_access import open_risk_warehouse
from joinedup.settings import Settings
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.risk import RiskScore

logger = logging.getLogger(__name__)

# Population-percentile bands (share of the population ranked highest), as practice lists use them.
BANDS = (("very_high", 0.005), ("high", 0.05), ("moderate", 0.20))
LOW_BAND = "low"
CHUNK = 50_000
# Reasons are worked out for the top 20 % (the bands a practice list draws on); the rest get none.
EXPLAINED_SHARE = 0.20


@dataclass(frozen=True)
class ScoringSummary:
    """What a scoring run did."""

    model_version: str
    as_of_date: date
    people: int
    by_band: dict[str, int]
    seconds: float


def band_for_rank(rank: int, people: int) -> str:
    """The band of the person ranked ``rank`` (1 = highest risk) among ``people``."""
    for band, share in BANDS:
        if rank <= math.ceil(share * people):
            return band
    return LOW_BAND


def score_frame(model: AdmissionModel, frame: pl.DataFrame) -> pl.DataFrame:
    """Score a feature frame: probability, population rank, band, and reasons for the top ``EXPLAINED_SHARE``."""
    names = model.feature_names
    matrix = feature_matrix(frame)
    probability = model.predict(matrix)
    order = np.lexsort((frame["person_id"].to_numpy(), -probability))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    people = frame.height
    reasons: list[list[str]] = [[] for _ in range(people)]
    # SHAP values cost far more than scores; only the people a list can show need them.
    explained = order[: math.ceil(EXPLAINED_SHARE * people)]
    for start in range(0, len(explained), CHUNK):
        rows = explained[start : start + CHUNK]
        block = matrix[rows]
        for person, said in zip(rows, explain_many(model.contributions(block), block, names), strict=True):
            reasons[int(person)] = said
    return frame.select("person_id", "practice_code", "efi_count", "efi_category", "charlson_index").with_columns(
        pl.Series("score", probability),
        pl.Series("population_rank", rank),
        pl.Series("band", [band_for_rank(int(r), people) for r in rank]),
        pl.Series("reasons", reasons, dtype=pl.List(pl.String)),
    )


def default_as_of(con: duckdb.DuckDBPyConnection) -> date:
    """The day after the last activity in the warehouse: scores say what may happen from then on."""
    return data_end_date(con) + timedelta(days=1)


def score_population(
    session: Session,
    con: duckdb.DuckDBPyConnection,
    *,
    models_dir: Path,
    as_of: date | None = None,
    model_version: str | None = None,
) -> ScoringSummary:
    """Score everyone in the warehouse as of a date and store the run (replacing a same-date run).

    Args:
        session: the operational store; the run is committed here.
        con: the warehouse (DuckDB) holding ``core.*``.
        models_dir: where trained models live (``settings.home / "models"``).
        as_of: the scoring date; by default the day after the last activity.
        model_version: a stored model version; by default the latest trained.
    """
    started = time.perf_counter()
    model = load_model(models_dir, model_version)
    as_of = as_of or default_as_of(con)
    scored = score_frame(model, build_features(con, as_of))
    session.execute(
        delete(RiskScore).where(RiskScore.model_version == model.version, RiskScore.as_of_date == as_of)
    )
    now = utc_now()
    rows: list[dict[str, Any]] = [
        {**row, "model_version": model.version, "as_of_date": as_of, "scored_at": now}
        for row in scored.iter_rows(named=True)
    ]
    table = cast(Table, RiskScore.__table__)
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(table), rows[start : start + CHUNK])
    session.commit()
    counts = scored.group_by("band").len()
    by_band = {band: int(n) for band, n in zip(counts["band"], counts["len"], strict=True)}
    seconds = round(time.perf_counter() - started, 1)
    logger.info("risk scores: %d people as of %s with %s in %.1f s", scored.height, as_of, model.version, seconds)
    return ScoringSummary(model.version, as_of, scored.height, by_band, seconds)


def rescore_population(session: Session, settings: Settings, *, as_of: date | None = None) -> ScoringSummary | None:
    """Rescore everyone after a load with the latest model (the daily run calls this).

    Returns None, and logs why, when no model has been trained yet in this home.
    """
    models_dir = settings.home / "models"
    if not (models_dir / "LATEST").exists():
        logger.info("risk scores not refreshed: no model trained yet (run `joinedup risk train`)")
        return None
    with open_risk_warehouse(settings) as con:
        return score_population(session, con, models_dir=models_dir, as_of=as_of)


@dataclass(frozen=True)
class PersonRisk:
    """A person's latest stored risk score, for their record and the coordination board."""

    person_id: str
    model_version: str
    as_of_date: date
    score: float
    band: str
    population_rank: int
    efi_count: int
    efi_category: str
    charlson_index: int
    reasons: tuple[str, ...]


def latest_person_risk(session: Session, *, actor: Actor, person_id: str) -> PersonRisk | None:
    """The person's latest risk score, after the access decision (resource ``risk_score``, audited).

    Raises:
        AccessDenied / NotFound: from ``joinedup.governance.authorise``.
    """
    authorise(session, actor=actor, person_id=person_id, resource_type="risk_score", detail="latest risk score")
    row = session.scalars(
        select(RiskScore)
        .where(RiskScore.person_id == person_id)
        .order_by(RiskScore.as_of_date.desc(), RiskScore.scored_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return PersonRisk(
        person_id=row.person_id, model_version=row.model_version, as_of_date=row.as_of_date, score=row.score,
        band=row.band, population_rank=row.population_rank, efi_count=row.efi_count,
        efi_category=row.efi_category, charlson_index=row.charlson_index, reasons=tuple(row.reasons),
    )
