"""Operations' table: every daily run (and demo run), its steps, counts and failures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.store.tables.base import Base, BigId, UtcDateTime, utc_now


class OperationRun(Base):
    """One run of a scheduled job: when, how it went, and each step's outcome.

    ``steps`` is a list of {"step", "status" (done|failed|skipped), "attempts", "seconds",
    "counts", "error"}; errors are class names and joinedup messages, never patient data.
    """

    __tablename__ = "operation_run"

    operation_run_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # daily | demo
    kind: Mapped[str] = mapped_column(String(20), index=True)
    # running | succeeded | failed
    status: Mapped[str] = mapped_column(String(12), default="running")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
