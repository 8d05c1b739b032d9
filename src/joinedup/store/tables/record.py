"""The shared care record: what happened to a patient, in every setting, with where it came from.

Every row keeps its provenance (``source``, the source's own id for it, the feed message it came
in, when it was received) and points at the *source patient* the sender named; the person is
reached through ``source_patient.person_id``. Codes are kept as given (``*_code`` with
``*_code_system``: SNOMED CT, ICD-10, OPCS-4, dm+d, LOINC, Read v2, local).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from joinedup.store.tables.base import Base, BigId, UtcDateTime, utc_now


class Provenance:
    """Columns every record item carries: who sent it, as what, in which message, when."""

    source: Mapped[str] = mapped_column(String(40))
    source_record_id: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)

    @declared_attr
    def feed_message_id(cls) -> Mapped[int | None]:  # noqa: N805 - SQLAlchemy declared_attr
        return mapped_column(ForeignKey("feed_message.feed_message_id"))

    @declared_attr
    def source_patient_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy declared_attr
        return mapped_column(ForeignKey("source_patient.source_patient_id"), index=True)


class Encounter(Provenance, Base):
    """A contact with care in any setting: GP consultation, A&E attendance, admission, visit..."""

    __tablename__ = "encounter"
    __table_args__ = (
        UniqueConstraint("source", "source_record_id"),
        Index("ix_encounter_setting_start", "setting", "start_at"),
    )

    encounter_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # gp | ae | inpatient | outpatient | community | social_care | telehealth | voluntary
    setting: Mapped[str] = mapped_column(String(20))
    # FHIR Encounter.class code: AMB, EMER, IMP, HH (home health), VR (virtual)...
    class_code: Mapped[str | None] = mapped_column(String(12))
    # emergency | elective | maternity | transfer | other (admitted care only)
    admission_method: Mapped[str | None] = mapped_column(String(20))
    # planned | arrived | in-progress | finished | cancelled | entered-in-error
    status: Mapped[str] = mapped_column(String(20), default="finished")
    start_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    org_code: Mapped[str | None] = mapped_column(String(12))
    location: Mapped[str | None] = mapped_column(String(80))
    service_code: Mapped[str | None] = mapped_column(String(40))
    primary_diagnosis_code: Mapped[str | None] = mapped_column(String(20))
    primary_diagnosis_code_system: Mapped[str | None] = mapped_column(String(20))
    discharge_destination: Mapped[str | None] = mapped_column(String(40))
    cost_gbp: Mapped[float | None] = mapped_column(Numeric(12, 2))
    description: Mapped[str | None] = mapped_column(String(200))


class Condition(Provenance, Base):
    """A problem or diagnosis, from a problem list or coded on an encounter."""

    __tablename__ = "condition"
    __table_args__ = (UniqueConstraint("source", "source_record_id"), Index("ix_condition_code", "code"))

    condition_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.encounter_id"))
    code: Mapped[str] = mapped_column(String(20))
    code_system: Mapped[str] = mapped_column(String(20))
    display: Mapped[str | None] = mapped_column(String(200))
    # problem-list-item | encounter-diagnosis
    category: Mapped[str] = mapped_column(String(24), default="problem-list-item")
    clinical_status: Mapped[str] = mapped_column(String(12), default="active")
    onset_date: Mapped[date | None] = mapped_column(Date)
    abatement_date: Mapped[date | None] = mapped_column(Date)
    # Diagnosis position on an admitted-care record (1 = primary).
    position: Mapped[int | None] = mapped_column()
    # Sealed items (sexual health, gender identity, safeguarding) are hidden unless a role allows.
    sealed_flag: Mapped[bool] = mapped_column(Boolean, default=False)


class Observation(Provenance, Base):
    """A measurement or finding: vital sign, lab result, telehealth reading, assessment score."""

    __tablename__ = "observation"
    __table_args__ = (
        UniqueConstraint("source", "source_record_id"),
        Index("ix_observation_code_effective", "code", "effective_at"),
    )

    observation_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.encounter_id"))
    code: Mapped[str] = mapped_column(String(20))
    code_system: Mapped[str] = mapped_column(String(20))
    display: Mapped[str | None] = mapped_column(String(200))
    # vital-signs | laboratory | telehealth | survey | social-history | exam
    category: Mapped[str | None] = mapped_column(String(20))
    value_num: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(20))
    value_text: Mapped[str | None] = mapped_column(String(200))
    effective_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # N | H | L | HH | LL | A (HL7 v2 OBX-8 / FHIR interpretation)
    interpretation: Mapped[str | None] = mapped_column(String(4))
    sealed_flag: Mapped[bool] = mapped_column(Boolean, default=False)


class Medication(Provenance, Base):
    """A prescription (MedicationRequest) or a statement of a medicine being taken."""

    __tablename__ = "medication"
    __table_args__ = (UniqueConstraint("source", "source_record_id"), Index("ix_medication_code", "code"))

    medication_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # request | statement
    kind: Mapped[str] = mapped_column(String(10), default="request")
    code: Mapped[str] = mapped_column(String(20))
    code_system: Mapped[str] = mapped_column(String(20))
    display: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    authored_on: Mapped[date | None] = mapped_column(Date)
    dosage_text: Mapped[str | None] = mapped_column(String(200))
    cost_gbp: Mapped[float | None] = mapped_column(Numeric(12, 2))


class Allergy(Provenance, Base):
    """An allergy or intolerance."""

    __tablename__ = "allergy"
    __table_args__ = (UniqueConstraint("source", "source_record_id"),)

    allergy_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20))
    code_system: Mapped[str] = mapped_column(String(20))
    display: Mapped[str | None] = mapped_column(String(200))
    criticality: Mapped[str | None] = mapped_column(String(20))
    reaction: Mapped[str | None] = mapped_column(String(200))
    recorded_date: Mapped[date | None] = mapped_column(Date)


class Procedure(Provenance, Base):
    """A procedure performed (OPCS-4 in hospital, SNOMED CT elsewhere)."""

    __tablename__ = "procedure"
    __table_args__ = (UniqueConstraint("source", "source_record_id"),)

    procedure_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.encounter_id"))
    code: Mapped[str] = mapped_column(String(20))
    code_system: Mapped[str] = mapped_column(String(20))
    display: Mapped[str | None] = mapped_column(String(200))
    performed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    position: Mapped[int | None] = mapped_column()


class CareDocument(Provenance, Base):
    """A record item kept whole as FHIR JSON when it has no table of its own yet.

    CarePlan, ServiceRequest and other resources a feed sends arrive here, so nothing received is
    dropped; the coordination layer turns the ones it owns into its own rows.
    """

    __tablename__ = "care_document"
    __table_args__ = (UniqueConstraint("source", "source_record_id"),)

    care_document_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str | None] = mapped_column(String(20))
    effective_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resource_json: Mapped[str] = mapped_column(Text)
