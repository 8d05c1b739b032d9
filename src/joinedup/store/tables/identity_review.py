"""Identity's own tables: the review queue of possible matches a person must decide."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.store.tables.base import Base, BigId, UtcDateTime, utc_now


class IdentityReviewItem(Base):
    """A candidate pair scored between the two thresholds: maybe the same person, a reviewer decides.

    ``source_patient_id`` is the record that arrived; ``candidate_source_patient_id`` the record it
    resembles, which belonged to ``candidate_person_id`` when queued. ``evidence`` is JSON (one
    entry per compared field: field, level in words, match weight); ``explanation`` the same in one
    line of plain English. Decisions are kept (never deleted) so a rejected pair is not re-queued.
    """

    __tablename__ = "identity_review_item"
    __table_args__ = (
        Index("ix_identity_review_item_status", "status"),
        Index("ix_identity_review_item_pair", "source_patient_id", "candidate_person_id"),
    )

    review_item_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_patient_id: Mapped[int] = mapped_column(ForeignKey("source_patient.source_patient_id"))
    person_id: Mapped[str | None] = mapped_column(String(32))
    candidate_source_patient_id: Mapped[int] = mapped_column(ForeignKey("source_patient.source_patient_id"))
    candidate_person_id: Mapped[str | None] = mapped_column(String(32))
    match_weight: Mapped[float] = mapped_column(Float)
    match_probability: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text, default="[]")
    explanation: Mapped[str] = mapped_column(String(600), default="")
    # open | accepted | rejected | superseded
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(String(400))
