"""What really happened to a person: the true events the feeds report (or misreport)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from joinedup.synth.codes import Code


@dataclass(slots=True)
class Measurement:
    """One observation taken at a GP contact (``bp`` carries the diastolic in ``value2``)."""

    key: str
    value: float
    value2: float = 0.0


@dataclass(slots=True)
class GpContact:
    """A GP consultation: face to face, telephone or home visit; reviews record measurements."""

    seq: int
    at: datetime
    mode: str
    practice_code: str
    review: bool
    measurements: list[Measurement] = field(default_factory=list)
    new_conditions: list[Code] = field(default_factory=list)
    prescriptions: list[tuple[Code, bool]] = field(default_factory=list)  # (drug, repeat)
    cost_gbp: float = 0.0


@dataclass(slots=True)
class AeAttendance:
    """An A&E attendance, admitted or not."""

    attendance_id: str
    arrival: datetime
    departure: datetime
    ambulance: bool
    acuity: int  # 1 (immediate) .. 5 (non-urgent)
    complaint: str
    diagnosis: str
    admitted_spell_id: str = ""
    died: bool = False
    cost_gbp: float = 0.0


@dataclass(slots=True)
class Spell:
    """A hospital spell (one episode): emergency or elective."""

    spell_id: str
    emergency: bool
    admission_method: str
    patient_class: str  # 1 ordinary, 2 day case
    admit: datetime
    discharge: datetime
    specialty: str
    diagnoses: list[str]
    procedures: list[str]
    wards: list[tuple[str, datetime]]
    cause: str
    from_care_home: bool = False
    ae_attendance_id: str = ""
    died: bool = False
    discharge_destination: str = "19"
    readmission: bool = False
    cost_gbp: float = 0.0
    merge_after: bool = False  # the spell used the person's duplicate MRN

    @property
    def length_of_stay(self) -> int:
        """Days between admission and discharge."""
        return (self.discharge.date() - self.admit.date()).days


@dataclass(slots=True)
class OutpatientAppointment:
    """A consultant-led outpatient appointment."""

    appointment_id: str
    at: datetime
    first: bool
    attended: str
    specialty: str
    referral_source: str
    priority: str
    outcome: str
    diagnosis: str
    procedure: str
    cost_gbp: float


@dataclass(slots=True)
class CommunityContact:
    """A community nursing or therapy contact."""

    contact_id: str
    at: datetime
    team: str
    mode: str
    minutes: int
    reason: Code
    cost_gbp: float


@dataclass(slots=True)
class SocialCareAssessment:
    """A council assessment or review."""

    assessment_id: str
    on: date
    kind: str
    support_reason: str
    outcome: str
    cost_gbp: float


@dataclass(slots=True)
class CarePackage:
    """A package of social care, from start to end (None: still running at the end)."""

    package_id: str
    start: date
    end: date | None
    service_type: str
    weekly_hours: float
    weekly_cost_gbp: float
    end_reason: str = ""


@dataclass(slots=True)
class TelehealthReading:
    """One reading sent by a home monitoring device."""

    reading_id: str
    at: datetime
    key: str
    value: float


@dataclass(slots=True)
class RiskYear:
    """The latent risk of one person-year, for ``truth/latent_risk.csv``."""

    year_start: date
    age: int
    deficit_count: int
    emergency_rate: float
    death_hazard: float


@dataclass(slots=True)
class History:
    """Everything that happened to one person in the period."""

    gp: list[GpContact] = field(default_factory=list)
    ae: list[AeAttendance] = field(default_factory=list)
    spells: list[Spell] = field(default_factory=list)
    outpatients: list[OutpatientAppointment] = field(default_factory=list)
    community: list[CommunityContact] = field(default_factory=list)
    assessments: list[SocialCareAssessment] = field(default_factory=list)
    packages: list[CarePackage] = field(default_factory=list)
    telehealth: list[TelehealthReading] = field(default_factory=list)
    risk_years: list[RiskYear] = field(default_factory=list)
    repeat_drugs: list[Code] = field(default_factory=list)
