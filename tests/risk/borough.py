"""A small synthetic borough with a KNOWN latent risk, written straight into DuckDB ``core.*`` tables.

Used by the risk tests (and the risk benchmark) until the synth → feeds → warehouse chain is
available. Each person has a latent frailty ``z``; their long-term conditions, GP, A&E, outpatient,
social care and telehealth activity, medicines and HbA1c, and their emergency admissions, all
depend on it (with a few non-linear effects: high HbA1c in diabetes, heart failure in old age),
month by month. The truth (``z`` and each month's admission rate) is returned for checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl

START = date(2021, 1, 1)
MONTHS = 60  # 2021-01 .. 2025-12

# name, ICD-10 (hospital), SNOMED CT (GP), base log-odds, slope on frailty, admission log-rate effect
CONDITIONS = (
    ("heart_failure", "I50.0", "84114007", -3.6, 1.0, 0.55),
    ("copd", "J44.9", "13645005", -3.0, 0.8, 0.45),
    ("diabetes", "E11.9", "44054006", -2.2, 0.5, 0.10),
    ("ckd", "N18.4", "709044004", -3.2, 0.9, 0.25),
    ("dementia", "F03", "52448006", -4.0, 1.1, 0.35),
    ("atrial_fibrillation", "I48", "49436004", -3.0, 0.8, 0.15),
    ("hypertension", "I10", "38341003", -1.2, 0.6, 0.0),
    ("falls", "W19", "1912002", -3.2, 1.0, 0.30),
    ("osteoporosis", "M81.0", "64859006", -3.0, 0.7, 0.05),
    ("lives_alone", "Z60.2", "105529008", -1.8, 0.5, 0.10),
    ("cancer", "C34.1", "", -4.2, 0.6, 0.50),
)
MEDICINES_PER_CONDITION = 2
PRACTICES = ("P81001", "P81002", "P81003", "P81004")
ETHNICITY = ("A", "B", "C", "H", "J", "M", "N", "R", "Z")


@dataclass(frozen=True)
class BoroughTruth:
    """What the generator knows and the model must discover."""

    person_ids: list[str]
    latent: np.ndarray
    monthly_rate: np.ndarray  # people x months, emergency admissions per month


def _month_start(month: int) -> date:
    year, m = divmod(month, 12)
    return date(START.year + year, m + 1, 1)


def make_borough(con: duckdb.DuckDBPyConnection, *, people: int = 6000, seed: int = 7) -> BoroughTruth:
    """Write ``core.person|encounter|diagnosis|observation|medication`` for ``people`` people."""
    rng = np.random.default_rng(seed)
    n = people
    ids = [f"p{index:07d}" for index in range(n)]
    age_2024 = np.clip(np.where(rng.random(n) < 0.3, rng.uniform(0, 40, n), rng.normal(62, 18, n)), 0, 100)
    birth = [date(2024, 1, 1) - timedelta(days=int(a * 365.25) + int(rng.integers(0, 365))) for a in age_2024]
    imd = rng.integers(1, 11, n)
    latent = rng.normal(0, 1, n)
    frailty = 0.04 * (age_2024 - 60) + 0.8 * latent + 0.08 * (5.5 - imd)
    months = np.arange(MONTHS)
    age_m = age_2024[:, None] + (months[None, :] - 36) / 12.0

    # Conditions: present with a probability rising with frailty; onset spread over 2012..2025.
    onset = {}
    log_rate = -5.0 + 0.75 * latent[:, None] + 0.025 * np.clip(age_m - 60, 0, None) + 0.05 * (5.5 - imd[:, None])
    for name, _icd, _sct, base, slope, effect in CONDITIONS:
        has = rng.random(n) < 1 / (1 + np.exp(-(base + slope * frailty)))
        onset_month = np.where(has, rng.integers(-108, MONTHS, n), 10_000)
        onset[name] = onset_month
        log_rate = log_rate + effect * (months[None, :] >= onset_month[:, None])
    hf_active = months[None, :] >= onset["heart_failure"][:, None]
    log_rate = log_rate + 0.6 * (hf_active & (age_m >= 80))  # non-linear: heart failure in the very old
    diabetic = onset["diabetes"] < 10_000
    hba1c_level = np.where(diabetic, rng.normal(58, 14, n) + 6 * latent, np.nan)
    log_rate = log_rate + 0.7 * ((months[None, :] >= onset["diabetes"][:, None]) & (hba1c_level[:, None] > 75))
    rate = np.exp(log_rate)
    admissions = rng.poisson(rate)

    _write(con, rng, ids, birth, imd, latent, onset, admissions, hba1c_level, frailty)
    return BoroughTruth(person_ids=ids, latent=latent, monthly_rate=rate)


def _days_in(month: int, rng: np.random.Generator, count: int) -> list[date]:
    first = _month_start(month)
    return [first + timedelta(days=int(d)) for d in rng.integers(0, 28, count)]


def _write(
    con: duckdb.DuckDBPyConnection,
    rng: np.random.Generator,
    ids: list[str],
    birth: list[date],
    imd: np.ndarray,
    latent: np.ndarray,
    onset: dict[str, np.ndarray],
    admissions: np.ndarray,
    hba1c_level: np.ndarray,
    frailty: np.ndarray,
) -> None:
    n = len(ids)
    person = pl.DataFrame(
        {
            "person_id": ids,
            "birth_date": birth,
            "sex": rng.choice(["female", "male"], n).tolist(),
            "ethnicity_code": rng.choice(ETHNICITY, n).tolist(),
            "lsoa_code": [f"E0100{int(d):04d}" for d in imd],
            "imd_decile": imd.astype(np.int32),
            "practice_code": rng.choice(PRACTICES, n).tolist(),
            "neighbourhood": ["north"] * n,
            "death_date": [None] * n,
        },
        schema_overrides={"death_date": pl.Date},
    )
    encounters: dict[str, list[object]] = {k: [] for k in (
        "person_id", "setting", "admission_method", "start_date", "end_date", "length_of_stay_days",
        "primary_diagnosis_code", "primary_diagnosis_code_system")}

    def add(pid: str, setting: str, method: str | None, start: date, los: int | None, code: str | None) -> None:
        encounters["person_id"].append(pid)
        encounters["setting"].append(setting)
        encounters["admission_method"].append(method)
        encounters["start_date"].append(start)
        encounters["end_date"].append(start + timedelta(days=los) if los is not None else start)
        encounters["length_of_stay_days"].append(los)
        encounters["primary_diagnosis_code"].append(code)
        encounters["primary_diagnosis_code_system"].append("ICD-10" if code else None)

    active_codes = {name: icd for name, icd, *_ in CONDITIONS}
    frail_pos = np.clip(frailty, 0, None)
    for i, pid in enumerate(ids):
        mine = [name for name in onset if onset[name][i] < 10_000]
        for month in np.nonzero(admissions[i])[0]:
            for start in _days_in(int(month), rng, int(admissions[i, month])):
                active = [c for c in mine if onset[c][i] <= month and active_codes[c]]
                code = active_codes[rng.choice(active)] if active and rng.random() < 0.7 else "R69"
                add(pid, "ae", None, start, None, None)
                add(pid, "inpatient", "emergency", start, int(rng.geometric(0.18)) - 1, code)
        for setting, base, slope in (("ae", 0.010, 0.02), ("gp", 0.25, 0.35), ("outpatient", 0.04, 0.08),
                                     ("community", 0.0, 0.10), ("social_care", 0.0, 0.06),
                                     ("inpatient", 0.003, 0.004)):
            lam = (base + slope * frail_pos[i]) * MONTHS
            for _ in range(int(rng.poisson(lam))):
                start = _day(rng)
                if setting == "inpatient":
                    add(pid, setting, "elective", start, int(rng.integers(0, 3)), "Z51.1")
                else:
                    add(pid, setting, None, start, None, None)
    encounter = pl.DataFrame(encounters, schema_overrides={
        "admission_method": pl.String, "length_of_stay_days": pl.Int32, "primary_diagnosis_code": pl.String,
        "primary_diagnosis_code_system": pl.String, "start_date": pl.Date, "end_date": pl.Date,
    }).with_row_index("encounter_id", offset=1).with_columns(
        pl.col("encounter_id").cast(pl.Int64), pl.lit("P81001").alias("org_code"), pl.lit(0.0).alias("cost_gbp"),
        pl.lit("synthetic").alias("source"))

    diag: dict[str, list[object]] = {"person_id": [], "code": [], "code_system": [], "recorded_date": []}
    meds: dict[str, list[object]] = {"person_id": [], "code": [], "code_system": [], "display": [], "authored_on": []}
    obs: dict[str, list[object]] = {k: [] for k in (
        "person_id", "code", "code_system", "value_num", "unit", "effective_date", "category", "source")}
    for c_index, (name, _icd, sct, *_rest) in enumerate(CONDITIONS):
        for i in np.nonzero(onset[name] < 10_000)[0]:
            month = int(onset[name][i])
            recorded = _month_start(month) if month >= 0 else START - timedelta(days=30 * -month)
            if sct:
                diag["person_id"].append(ids[i])
                diag["code"].append(sct)
                diag["code_system"].append("http://snomed.info/sct")
                diag["recorded_date"].append(recorded)
            for k in range(MEDICINES_PER_CONDITION):
                for issue in range(max(month, 0), MONTHS, 4):
                    meds["person_id"].append(ids[i])
                    meds["code"].append(f"dmd{c_index:02d}{k}")
                    meds["code_system"].append("dm+d")
                    meds["display"].append(f"medicine {c_index}-{k}")
                    meds["authored_on"].append(_month_start(issue) + timedelta(days=k))
            if name == "diabetes":
                for reading in range(max(month, 0), MONTHS, 6):
                    obs["person_id"].append(ids[i])
                    obs["code"].append("999791000000106")
                    obs["code_system"].append("http://snomed.info/sct")
                    obs["value_num"].append(float(round(hba1c_level[i] + rng.normal(0, 4))))
                    obs["unit"].append("mmol/mol")
                    obs["effective_date"].append(_month_start(reading) + timedelta(days=10))
                    obs["category"].append("laboratory")
                    obs["source"].append("gp")
    tables = {
        "person": person,
        "encounter": encounter,
        "diagnosis": pl.DataFrame(diag, schema_overrides={"recorded_date": pl.Date}).with_columns(
            pl.lit("gp").alias("source")),
        "medication": pl.DataFrame(meds, schema_overrides={"authored_on": pl.Date}),
        "observation": pl.DataFrame(obs, schema_overrides={"effective_date": pl.Date, "value_num": pl.Float64}),
    }
    con.execute("create schema if not exists core")
    for name, frame in tables.items():
        con.register("frame_in", frame)
        con.execute(f"create or replace table core.{name} as select * from frame_in")
        con.unregister("frame_in")


def _day(rng: np.random.Generator) -> date:
    return START + timedelta(days=int(rng.integers(0, MONTHS * 30.4)))
