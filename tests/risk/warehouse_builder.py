"""Hand-made ``core.*`` tables in DuckDB for worked examples: a few people, every row written out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import polars as pl

PERSON_SCHEMA = {
    "person_id": pl.String, "birth_date": pl.Date, "sex": pl.String, "ethnicity_code": pl.String,
    "lsoa_code": pl.String, "imd_decile": pl.Int64, "practice_code": pl.String, "neighbourhood": pl.String,
    "death_date": pl.Date,
}
ENCOUNTER_SCHEMA = {
    "encounter_id": pl.Int64, "person_id": pl.String, "setting": pl.String, "admission_method": pl.String,
    "start_date": pl.Date, "end_date": pl.Date, "length_of_stay_days": pl.Int64,
    "primary_diagnosis_code": pl.String, "primary_diagnosis_code_system": pl.String, "org_code": pl.String,
    "cost_gbp": pl.Float64, "source": pl.String,
}
DIAGNOSIS_SCHEMA = {"person_id": pl.String, "code": pl.String, "code_system": pl.String,
                    "recorded_date": pl.Date, "source": pl.String}
OBSERVATION_SCHEMA = {"person_id": pl.String, "code": pl.String, "code_system": pl.String, "value_num": pl.Float64,
                      "unit": pl.String, "effective_date": pl.Date, "category": pl.String, "source": pl.String}
MEDICATION_SCHEMA = {"person_id": pl.String, "code": pl.String, "code_system": pl.String, "display": pl.String,
                     "authored_on": pl.Date}


@dataclass
class CoreTables:
    """Rows of the five core tables the risk features read."""

    person: list[dict[str, Any]] = field(default_factory=list)
    encounter: list[dict[str, Any]] = field(default_factory=list)
    diagnosis: list[dict[str, Any]] = field(default_factory=list)
    observation: list[dict[str, Any]] = field(default_factory=list)
    medication: list[dict[str, Any]] = field(default_factory=list)

    def add_person(self, person_id: str, birth: date, *, sex: str = "female", imd: int = 5,
                   practice: str = "P81001", ethnicity: str = "A") -> None:
        self.person.append({"person_id": person_id, "birth_date": birth, "sex": sex, "ethnicity_code": ethnicity,
                            "lsoa_code": "E01000001", "imd_decile": imd, "practice_code": practice,
                            "neighbourhood": "north", "death_date": None})

    def add_encounter(self, person_id: str, setting: str, start: date, end: date | None = None, *,
                      method: str | None = None, diagnosis: str | None = None) -> int:
        encounter_id = len(self.encounter) + 1
        los = (end - start).days if end is not None and setting == "inpatient" else None
        self.encounter.append({
            "encounter_id": encounter_id, "person_id": person_id, "setting": setting, "admission_method": method,
            "start_date": start, "end_date": end or start, "length_of_stay_days": los,
            "primary_diagnosis_code": diagnosis, "primary_diagnosis_code_system": "ICD-10" if diagnosis else None,
            "org_code": "RXX", "cost_gbp": 0.0, "source": "hospital",
        })
        return encounter_id

    def add_diagnosis(self, person_id: str, code: str, system: str, recorded: date) -> None:
        self.diagnosis.append({"person_id": person_id, "code": code, "code_system": system,
                               "recorded_date": recorded, "source": "gp"})

    def add_observation(self, person_id: str, code: str, system: str, value: float, unit: str, on: date,
                        category: str = "laboratory") -> None:
        self.observation.append({"person_id": person_id, "code": code, "code_system": system, "value_num": value,
                                 "unit": unit, "effective_date": on, "category": category, "source": "gp"})

    def add_medication(self, person_id: str, code: str, on: date) -> None:
        self.medication.append({"person_id": person_id, "code": code, "code_system": "https://dmd.nhs.uk",
                                "display": code, "authored_on": on})

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        """(Re)create the ``core`` tables in ``con`` from these rows."""
        con.execute("create schema if not exists core")
        for name, schema in (("person", PERSON_SCHEMA), ("encounter", ENCOUNTER_SCHEMA),
                             ("diagnosis", DIAGNOSIS_SCHEMA), ("observation", OBSERVATION_SCHEMA),
                             ("medication", MEDICATION_SCHEMA)):
            frame = pl.DataFrame(getattr(self, name), schema=schema, orient="row")
            con.register("rows_in", frame)
            con.execute(f"create or replace table core.{name} as select * from rows_in")
            con.unregister("rows_in")
