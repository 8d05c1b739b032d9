"""The master patient index: linked persons, and each source system's view of a patient.

A *source patient* is one system's record of somebody (the PAS's MRN, the GP system's patient,
social care's client id) with the demographics that system sent. A *person* is who we believe
that somebody is: the identity layer links source patients to persons. Clinical rows point at the
source patient, so a merge or unmerge changes one column, not every encounter.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.store.tables.base import Base, BigId, UtcDateTime, utc_now


class Person(Base):
    """A linked person: the identity every record of one human being resolves to."""

    __tablename__ = "person"

    person_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    # active | merged (then merged_into_person_id says into whom)
    status: Mapped[str] = mapped_column(String(12), default="active")
    merged_into_person_id: Mapped[str | None] = mapped_column(ForeignKey("person.person_id"))


class SourcePatient(Base):
    """One source system's record of a patient, with the demographics it sent."""

    __tablename__ = "source_patient"
    __table_args__ = (
        UniqueConstraint("source", "local_id"),
        Index("ix_source_patient_nhs_number", "nhs_number"),
        Index("ix_source_patient_person_id", "person_id"),
        Index("ix_source_patient_match", "family_name", "birth_date"),
        # Patient search (date of birth + lower(family name)) and linkage's candidate look-ups seek
        # on the date; a plain column index, so every engine uses it and migrations can compare it.
        Index("ix_source_patient_birth_date", "birth_date", "family_name"),
        Index("ix_source_patient_postcode", "postcode"),
    )

    source_patient_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    local_id: Mapped[str] = mapped_column(String(64))
    # The NHS number exactly as received, and the normalised one only when it is valid and real.
    nhs_number_given: Mapped[str | None] = mapped_column(String(32))
    nhs_number: Mapped[str | None] = mapped_column(String(10))
    # valid | missing | wrong_length | not_numeric | bad_check_digit | placeholder
    nhs_number_status: Mapped[str] = mapped_column(String(20), default="missing")
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    # FHIR administrative gender: male | female | other | unknown
    sex: Mapped[str | None] = mapped_column(String(10))
    postcode: Mapped[str | None] = mapped_column(String(10))
    address_line: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    lsoa_code: Mapped[str | None] = mapped_column(String(12))
    ethnicity_code: Mapped[str | None] = mapped_column(String(8))
    registered_practice_code: Mapped[str | None] = mapped_column(String(12))
    deceased_date: Mapped[date | None] = mapped_column(Date)
    # Address withheld / sensitive record (PDS "R" restricted): callers without a right see "not found".
    sensitive_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    person_id: Mapped[str | None] = mapped_column(ForeignKey("person.person_id"))
    # nhs_number | probabilistic | reviewer | merge_message | new_person
    link_method: Mapped[str | None] = mapped_column(String(20))
    link_match_weight: Mapped[float | None] = mapped_column(Float)
    linked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
    # When the source says the demographics were true (orders late updates correctly).
    source_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PersonLinkEvent(Base):
    """The history of every link, merge and unmerge: who was attached to whom, when, why."""

    __tablename__ = "person_link_event"

    link_event_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_patient_id: Mapped[int | None] = mapped_column(ForeignKey("source_patient.source_patient_id"))
    # link | relink | merge | unmerge | review_accept | review_reject
    action: Mapped[str] = mapped_column(String(20))
    from_person_id: Mapped[str | None] = mapped_column(String(32))
    to_person_id: Mapped[str | None] = mapped_column(String(32))
    method: Mapped[str | None] = mapped_column(String(20))
    match_weight: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(400))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
