"""What the JSON API accepts for data requests and reviews (validated; errors never echo input)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CohortDefinition(BaseModel):
    """Simple cohort filters: age range at the period's end, condition code prefixes, practices, sex."""

    model_config = ConfigDict(extra="forbid")

    min_age: int | None = Field(default=None, ge=0, le=130)
    max_age: int | None = Field(default=None, ge=0, le=130)
    condition_codes: list[str] = Field(default_factory=list, max_length=200)
    practice_codes: list[str] = Field(default_factory=list, max_length=500)
    sex: Literal["female", "male", "other", "unknown"] | None = None


class DataRequestCreate(BaseModel):
    """A new data request for the board."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=200)
    purpose: str = Field(min_length=3, max_length=40)
    legal_basis: str = Field(min_length=3, max_length=200)
    agreement_id: str = Field(min_length=1, max_length=40)
    cohort: CohortDefinition = Field(default_factory=CohortDefinition)
    fields: list[str] = Field(min_length=1, max_length=50)
    period_start: date
    period_end: date


class DataRequestReviewCreate(BaseModel):
    """A board member's comment or decision."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["comment", "approve", "reject"]
    text: str = Field(default="", max_length=4000)
