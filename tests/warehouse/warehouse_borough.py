"""A small hand-built borough for the warehouse and reporting tests.

Every figure the warehouse tests expect is worked out by hand from this data in
docs/marts/<mart>.md. The reporting date is 2024-12-31 and the data window 2024-01 to 2024-12.

People (all linked; ``E`` has opted out of secondary use; one source patient is left unlinked):

=====  ===  ==========  ========  =========  ==================================================
who    sex  born        practice  died       what happens
=====  ===  ==========  ========  =========  ==================================================
A      F    1940-03-10  P1 North  -          diabetes + hypertension, lives in a care home,
                                             GP visit, A&E, emergency admission 1-5 Feb (E11.9),
                                             emergency readmission 20-22 Feb (J18.9), HbA1c 80
                                             (GP, 1 Jun) and 78 (hospital, 10 Jun), BP; care plan
B      M    1950-07-01  P1 North  2024-10-15 COPD; emergency admissions 1-11 Sep (J44.1) and
                                             10-15 Oct (J44.9, died in hospital)
C      F    1985-05-05  P2 North  -          asthma; elective day case 1 Mar; outpatient 20 Mar
D      M    1930-01-01  P2 North  2024-06-30 community, social care and telehealth in May; died
                                             at home
E      F    2000-01-01  P3 South  -          opted out: emergency admission 1-3 Apr
G      F    1942-01-01  P2 North  -          housebound; no activity
=====  ===  ==========  ========  =========  ==================================================
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from joinedup.settings import Settings
from joinedup.store.tables import (
    CareDocument,
    Condition,
    Encounter,
    Observation,
    Organisation,
    Person,
    SmallArea,
    SourcePatient,
)
from joinedup.warehouse import build_warehouse
from joinedup.warehouse.build import BuildReport
from joinedup.warehouse.engines.duckdb import DuckDBEngine

AS_OF = date(2024, 12, 31)
OPTED_OUT = {"E"}
PERSONS = ("A", "B", "C", "D", "E", "G")


def synthetic_nhs_number(seed: int) -> str:
    """A valid (modulus 11) NHS number in the 999 range NHS Digital keeps for testing."""
    for offset in range(100):
        base = f"999{seed * 100 + offset:06d}"
        total = sum(int(digit) * weight for digit, weight in zip(base, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return base + str(check)
    raise AssertionError("no valid NHS number near this seed")


NHS_NUMBERS = {person: synthetic_nhs_number(index + 1) for index, person in enumerate(PERSONS)}


def at(day: str, hour: int = 10) -> datetime:
    """A UTC timestamp on ``day`` (YYYY-MM-DD)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


# Every row of the borough was written on this day, long before any test builds a warehouse, so an
# incremental build sees only what a test changes afterwards.
WRITTEN_AT = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)


def allow_all_but_opted_out(session: Session, purpose: str, as_of: date) -> set[str]:
    """A stand-in for governance's check with the same interface: everyone but ``E``."""
    return set(PERSONS) - OPTED_OUT


class Borough:
    """Writes the hand-built borough into a store session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._patients: dict[tuple[str, str], SourcePatient] = {}
        self._record_number = 0

    def patient(self, person: str | None, source: str = "gp", **demographics: object) -> SourcePatient:
        local_id = f"{source}-{person or 'unlinked'}"
        if person is not None:
            demographics.setdefault("nhs_number", NHS_NUMBERS[person])
            demographics.setdefault("nhs_number_status", "valid")
        patient = SourcePatient(
            source=source, local_id=local_id, person_id=person, updated_at=WRITTEN_AT, **demographics
        )
        self.session.add(patient)
        self.session.flush()
        self._patients[(person or "unlinked", source)] = patient
        return patient

    def _next_id(self) -> str:
        self._record_number += 1
        return f"r{self._record_number}"

    def encounter(self, person: str, setting: str, start: str, end: str | None = None, *,
                  source: str = "gp", cost: str = "0", **fields: object) -> Encounter:
        encounter = Encounter(
            source=source,
            source_record_id=self._next_id(),
            source_patient_id=self._patients[(person, source)].source_patient_id,
            setting=setting,
            start_at=at(start),
            end_at=at(end, 12) if end else None,
            cost_gbp=Decimal(cost),
            received_at=WRITTEN_AT,
            updated_at=WRITTEN_AT,
            **fields,
        )
        self.session.add(encounter)
        return encounter

    def condition(self, person: str, code: str, code_system: str, onset: str, *, source: str = "gp") -> None:
        self.session.add(
            Condition(
                source=source,
                source_record_id=self._next_id(),
                source_patient_id=self._patients[(person, source)].source_patient_id,
                code=code,
                code_system=code_system,
                onset_date=date.fromisoformat(onset),
                received_at=WRITTEN_AT,
                updated_at=WRITTEN_AT,
            )
        )

    def observation(self, person: str, code: str, code_system: str, day: str, value: float | None = None,
                    unit: str | None = None, *, source: str = "gp", category: str = "laboratory") -> None:
        self.session.add(
            Observation(
                source=source,
                source_record_id=self._next_id(),
                source_patient_id=self._patients[(person, source)].source_patient_id,
                code=code,
                code_system=code_system,
                value_num=value,
                unit=unit,
                effective_at=at(day),
                category=category,
                received_at=WRITTEN_AT,
                updated_at=WRITTEN_AT,
            )
        )


def write_borough(session: Session) -> None:
    """Write the hand-built borough (see the module docstring) and commit."""
    session.add_all(
        [
            Organisation(org_code="P1", name="Practice One", kind="gp_practice", neighbourhood="North"),
            Organisation(org_code="P2", name="Practice Two", kind="gp_practice", neighbourhood="North"),
            Organisation(org_code="P3", name="Practice Three", kind="gp_practice", neighbourhood="South"),
            Organisation(org_code="RX1", name="Borough Hospital", kind="acute_trust", neighbourhood=None),
            SmallArea(lsoa_code="L1", name="North 1", imd_decile=2, neighbourhood="North"),
            SmallArea(lsoa_code="L2", name="South 1", imd_decile=8, neighbourhood="South"),
        ]
    )
    session.add_all([Person(person_id=person) for person in PERSONS])
    session.flush()
    b = Borough(session)
    recorded = at("2024-01-01")
    b.patient("A", birth_date=date(1940, 3, 10), sex="female", lsoa_code="L1", registered_practice_code="P1",
              ethnicity_code="A", source_updated_at=recorded)
    # The hospital's view of A is newer and says South, but the GP record is trusted first.
    b.patient("A", "hospital-sus", birth_date=date(1940, 3, 10), sex="female", lsoa_code="L2",
              source_updated_at=at("2024-06-01"))
    b.patient("B", birth_date=date(1950, 7, 1), sex="male", lsoa_code="L1", registered_practice_code="P1")
    b.patient("B", "hospital-sus", birth_date=date(1950, 7, 1), sex="male", deceased_date=date(2024, 10, 15))
    b.patient("C", birth_date=date(1985, 5, 5), sex="female", lsoa_code="L1", registered_practice_code="P2")
    b.patient("C", "hospital-sus", birth_date=date(1985, 5, 5), sex="female")
    b.patient("D", birth_date=date(1930, 1, 1), sex="male", lsoa_code="L1", registered_practice_code="P2",
              deceased_date=date(2024, 6, 30))
    b.patient("D", "community", birth_date=date(1930, 1, 1), sex="male")
    b.patient("E", birth_date=date(2000, 1, 1), sex="female", lsoa_code="L2", registered_practice_code="P3")
    b.patient("E", "hospital-sus", birth_date=date(2000, 1, 1), sex="female")
    b.patient("G", birth_date=date(1942, 1, 1), sex="female", lsoa_code="L1", registered_practice_code="P2")
    b.patient(None, "community", birth_date=date(1960, 1, 1), sex="male")

    hospital = "hospital-sus"
    b.encounter("A", "gp", "2024-01-15", cost="30")
    b.encounter("A", "ae", "2024-02-01", "2024-02-01", source=hospital, cost="150", org_code="RX1")
    b.encounter("A", "inpatient", "2024-02-01", "2024-02-05", source=hospital, cost="2000",
                admission_method="emergency", primary_diagnosis_code="E11.9",
                primary_diagnosis_code_system="ICD-10", org_code="RX1")
    b.encounter("A", "inpatient", "2024-02-20", "2024-02-22", source=hospital, cost="1500",
                admission_method="emergency", primary_diagnosis_code="J18.9",
                primary_diagnosis_code_system="ICD-10", org_code="RX1")
    b.encounter("A", "gp", "2024-03-01", cost="30", status="cancelled")
    b.encounter("B", "inpatient", "2024-09-01", "2024-09-11", source=hospital, cost="4000",
                admission_method="emergency", primary_diagnosis_code="J44.1",
                primary_diagnosis_code_system="ICD-10", org_code="RX1")
    b.encounter("B", "inpatient", "2024-10-10", "2024-10-15", source=hospital, cost="2500",
                admission_method="emergency", primary_diagnosis_code="J44.9",
                primary_diagnosis_code_system="ICD-10", discharge_destination="died", org_code="RX1")
    b.encounter("C", "inpatient", "2024-03-01", "2024-03-01", source=hospital, cost="800",
                admission_method="elective", primary_diagnosis_code="K40.9",
                primary_diagnosis_code_system="ICD-10", org_code="RX1")
    b.encounter("C", "outpatient", "2024-03-20", source=hospital, cost="120", org_code="RX1")
    b.encounter("D", "community", "2024-05-01", source="community", cost="60")
    b.encounter("D", "social_care", "2024-05-02", source="community", cost="200")
    b.encounter("D", "telehealth", "2024-05-03", source="community", cost="5")
    b.encounter("E", "inpatient", "2024-04-01", "2024-04-03", source=hospital, cost="1800",
                admission_method="emergency", primary_diagnosis_code="J45.9",
                primary_diagnosis_code_system="ICD-10", org_code="RX1")

    b.condition("A", "44054006", "SNOMED CT", "2015-06-01")
    b.condition("A", "38341003", "SNOMED CT", "2010-01-01")
    b.condition("B", "J44.9", "ICD-10", "2024-09-01", source=hospital)
    b.condition("C", "195967001", "SNOMED CT", "2000-01-01")
    b.condition("E", "195967001", "SNOMED CT", "2010-01-01")

    b.observation("A", "999791000000106", "SNOMED CT", "2024-06-01", 80, "mmol/mol")
    b.observation("A", "59261-8", "http://loinc.org", "2024-06-10", 78, "mmol/mol", source=hospital)
    b.observation("A", "75367002", "SNOMED CT", "2024-06-01", 138, "mm[Hg]",
                  category="vital-signs")
    b.observation("A", "160734000", "SNOMED CT", "2023-11-01", category="social-history")
    b.observation("G", "160689007", "SNOMED CT", "2023-05-01", category="social-history")

    session.add(
        CareDocument(
            source="gp",
            source_record_id="plan-A",
            source_patient_id=b._patients[("A", "gp")].source_patient_id,
            resource_type="CarePlan",
            status="active",
            resource_json="{}",
            received_at=WRITTEN_AT,
            updated_at=WRITTEN_AT,
        )
    )
    session.commit()


def build_borough_warehouse(
    sessions: sessionmaker[Session], settings: Settings, engine: DuckDBEngine | object, full: bool = False
) -> BuildReport:
    """Build the borough's warehouse on ``engine`` as of 2024-12-31, opting ``E`` out."""
    return build_warehouse(
        sessions, settings, engine, full=full, as_of=AS_OF, secondary_use=allow_all_but_opted_out  # type: ignore[arg-type]
    )


def rows(engine: DuckDBEngine, schema: str, table: str, order_by: list[str] | None = None) -> list[dict[str, object]]:
    """The rows of ``schema.table`` as dicts, ordered by ``order_by`` (default every column)."""
    expr = engine.table(schema, table)
    expr = expr.order_by(order_by or expr.columns)
    return engine.to_arrow(expr).to_pylist()
