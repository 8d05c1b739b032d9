"""Risk stratification's table: one row per person per scoring run (``joinedup risk score``).

Scores are kept, not overwritten, so a practice list can say who is new since last week and an
evaluation can look back at what was predicted on a given date.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.store.tables.base import Base, BigId, UtcDateTime, utc_now


class RiskScore(Base):
    """A person's 12-month emergency admission risk on one date, from one model version.

    ``reasons`` holds the top contributing factors in plain words (JSON list of strings);
    ``band`` is the population-percentile band (very_high = top 0.5 %, high = top 5 %,
    moderate = top 20 %, low = the rest).
    """

    __tablename__ = "risk_score"
    __table_args__ = (
        Index("ix_risk_score_person_id", "person_id"),
        Index("ix_risk_score_practice_run", "practice_code", "as_of_date", "model_version"),
    )

    risk_score_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(32))
    model_version: Mapped[str] = mapped_column(String(40))
    as_of_date: Mapped[date] = mapped_column(Date)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    practice_code: Mapped[str | None] = mapped_column(String(12))
    score: Mapped[float] = mapped_column(Float)
    population_rank: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(12))
    efi_count: Mapped[int] = mapped_column(Integer)
    efi_category: Mapped[str] = mapped_column(String(10))
    charlson_index: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
