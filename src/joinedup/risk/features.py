"""Features of the 12-month emergency admission model, computed from the warehouse's ``core.*``.

Everything is counted strictly BEFORE the index (prediction) date: events on the index date or
later never reach a feature, so a model trained on one date can be trusted on the next. The
outcome (an emergency admission in the ``horizon_days`` from the index date on) is added only when
asked, for training and validation.

Runs on DuckDB (the embedded warehouse); the SQL is plain and aggregate-only so that it also runs
on a read-only connection.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import polars as pl

from joinedup.risk.charlson import HIERARCHY, charlson_weights
from joinedup.risk.codelists import (
    charlson_category_names,
    charlson_codelist,
    efi_codelist,
    efi_deficit_names,
    lab_codelist,
    long_term_condition_codelist,
    long_term_condition_names,
    normalise_code_system,
)
from joinedup.risk.errors import RiskError
from joinedup.risk.frailty import POLYPHARMACY_MEDICINES

logger = logging.getLogger(__name__)

# Long-term conditions counted for multimorbidity: eFI disease deficits and Charlson conditions
# folded onto one name each, so heart failure coded both ways counts once.
LONG_TERM_CONDITIONS: dict[str, str] = {
    "efi_arthritis": "arthritis",
    "efi_atrial_fibrillation": "atrial_fibrillation",
    "efi_cerebrovascular_disease": "stroke_or_tia",
    "efi_chronic_kidney_disease": "chronic_kidney_disease",
    "efi_diabetes": "diabetes",
    "efi_heart_failure": "heart_failure",
    "efi_heart_valve_disease": "heart_valve_disease",
    "efi_hypertension": "hypertension",
    "efi_ischaemic_heart_disease": "coronary_heart_disease",
    "efi_memory_and_cognitive_problems": "dementia",
    "efi_osteoporosis": "osteoporosis",
    "efi_parkinsonism_and_tremor": "parkinsonism",
    "efi_peptic_ulcer": "peptic_ulcer",
    "efi_peripheral_vascular_disease": "peripheral_vascular_disease",
    "efi_respiratory_disease": "chronic_respiratory_disease",
    "efi_thyroid_disease": "thyroid_disease",
    "cc_myocardial_infarction": "coronary_heart_disease",
    "cc_congestive_heart_failure": "heart_failure",
    "cc_peripheral_vascular_disease": "peripheral_vascular_disease",
    "cc_cerebrovascular_disease": "stroke_or_tia",
    "cc_dementia": "dementia",
    "cc_chronic_pulmonary_disease": "chronic_respiratory_disease",
    "cc_rheumatic_disease": "rheumatic_disease",
    "cc_peptic_ulcer_disease": "peptic_ulcer",
    "cc_mild_liver_disease": "liver_disease",
    "cc_moderate_or_severe_liver_disease": "liver_disease",
    "cc_diabetes_without_complication": "diabetes",
    "cc_diabetes_with_complication": "diabetes",
    "cc_hemiplegia_or_paraplegia": "hemiplegia_or_paraplegia",
    "cc_renal_disease": "chronic_kidney_disease",
    "cc_any_malignancy": "cancer",
    "cc_metastatic_solid_tumour": "cancer",
    "cc_aids_hiv": "hiv",
    "ltc_cancer": "cancer",
    "ltc_depression": "depression",
    "ltc_serious_mental_illness": "serious_mental_illness",
    "ltc_learning_disability": "learning_disability",
}

ACTIVITY_FEATURES = (
    "emergency_admissions_12m",
    "other_admissions_12m",
    "bed_days_12m",
    "days_since_emergency_admission",
    "ae_attendances_6m",
    "ae_attendances_12m",
    "outpatient_attendances_12m",
    "gp_contacts_12m",
    "community_contacts_12m",
    "social_care_contacts_12m",
    "telehealth_readings_90d",
    "medicines_12m",
    "lace_last_discharge",
)
LAB_FEATURES = ("hba1c_mmol_mol", "egfr")


def efi_flag_names() -> tuple[str, ...]:
    """Feature names of the 36 eFI deficit flags."""
    return tuple(f"efi_{name}" for name in efi_deficit_names())


def charlson_flag_names() -> tuple[str, ...]:
    """Feature names of the 17 Charlson condition flags (after the hierarchy rule)."""
    return tuple(f"cc_{name}" for name in charlson_category_names())


def long_term_condition_flag_names() -> tuple[str, ...]:
    """Feature names of the extra long-term condition flags."""
    return tuple(f"ltc_{name}" for name in long_term_condition_names())


def model_feature_names() -> tuple[str, ...]:
    """Every model feature, in the order the model sees them."""
    return (
        "age_years", "sex_female", "imd_decile", "efi_count", "charlson_index", "multimorbidity_count",
        *ACTIVITY_FEATURES, *LAB_FEATURES, *charlson_flag_names(), *efi_flag_names(),
        *long_term_condition_flag_names(),
    )


def _day(value: date) -> str:
    """A DATE literal for SQL (dates only come from Python ``date`` objects, never from input)."""
    return f"DATE '{value.isoformat()}'"


def _system_map(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Raw code-system spellings found in the warehouse, mapped to our short names."""
    raw = con.sql(
        "select distinct code_system as raw from core.diagnosis "
        "union select distinct primary_diagnosis_code_system from core.encounter "
        "union select distinct code_system from core.observation"
    ).pl()
    values = [value for value in raw["raw"].to_list() if value is not None]
    return pl.DataFrame(
        {"raw": values, "system": [normalise_code_system(value) for value in values]},
        schema={"raw": pl.String, "system": pl.String},
    )


def _code_tables() -> dict[str, pl.DataFrame]:
    efi = pl.DataFrame(
        [(row.group, row.code_system, row.code) for row in efi_codelist() if row.code_system != "derived"],
        schema={"grp": pl.String, "system": pl.String, "code": pl.String},
        orient="row",
    )
    charlson = pl.DataFrame(
        [(row.category, row.icd10_prefix) for row in charlson_codelist()],
        schema={"grp": pl.String, "code": pl.String},
        orient="row",
    )
    conditions = pl.DataFrame(
        [(row.group, row.code_system, row.code) for row in long_term_condition_codelist()],
        schema={"grp": pl.String, "system": pl.String, "code": pl.String},
        orient="row",
    )
    labs = pl.DataFrame(
        [(row.group, row.code_system, row.code) for row in lab_codelist()],
        schema={"measure": pl.String, "system": pl.String, "code": pl.String},
        orient="row",
    )
    return {
        "risk_efi_codes": efi,
        "risk_ltc_codes": conditions,
        "risk_charlson_codes": charlson,
        "risk_lab_codes": labs,
    }


# Coded history: diagnoses, and encounters' primary diagnoses once the encounter has ENDED before
# the index date (a spell still open on the index date is coded after it).
_CODED_HISTORY = """
with coded as (
    select person_id, code_system as raw, code, recorded_date as coded_date
    from core.diagnosis where recorded_date < {idx} and code is not null
    union all
    select person_id, primary_diagnosis_code_system, primary_diagnosis_code, coalesce(end_date, start_date)
    from core.encounter
    where coalesce(end_date, start_date) < {idx} and primary_diagnosis_code is not null
),
normalised as (
    select c.person_id, m.system, c.coded_date,
        case when m.system = 'icd10' then
            case when length(regexp_replace(upper(c.code), '[^A-Z0-9]', '', 'g')) > 3
                then left(rtrim(regexp_replace(upper(c.code), '[^A-Z0-9]', '', 'g'), 'X'), 5)
                else regexp_replace(upper(c.code), '[^A-Z0-9]', '', 'g') end
            else trim(c.code) end as code
    from coded c join risk_system_map m on m.raw = c.raw
),
-- ICD-10 codes as their 3-, 4- and 5-character categories, so code lists join on equality.
icd10_prefixes as (
    select person_id, coded_date, left(code, 3) as prefix from normalised where system = 'icd10'
    union all
    select person_id, coded_date, left(code, 4) from normalised where system = 'icd10' and length(code) >= 4
    union all
    select person_id, coded_date, left(code, 5) from normalised where system = 'icd10' and length(code) >= 5
)
"""

# People with each group of a code list ({codes}: the eFI deficits or the extra long-term conditions).
_CODED_GROUPS = (
    _CODED_HISTORY
    + """
select distinct n.person_id, e.grp from normalised n
join {codes} e on e.system = n.system and e.code = n.code where n.system <> 'icd10'
union
select distinct p.person_id, e.grp from icd10_prefixes p join {codes} e on e.system = 'icd10' and e.code = p.prefix
"""
)

_CHARLSON = (
    _CODED_HISTORY
    + """
select p.person_id, c.grp, min(p.coded_date) as first_date
from icd10_prefixes p join risk_charlson_codes c on c.code = p.prefix
group by p.person_id, c.grp
"""
)

_ACTIVITY = """
select person_id,
    count(*) filter (where setting = 'inpatient' and admission_method = 'emergency' and start_date >= {d365})
        as emergency_admissions_12m,
    count(*) filter (where setting = 'inpatient' and coalesce(admission_method, '') <> 'emergency'
        and start_date >= {d365}) as other_admissions_12m,
    coalesce(sum(greatest(date_diff('day', greatest(start_date, {d365}), least(coalesce(end_date, {idx}), {idx})), 0))
        filter (where setting = 'inpatient' and coalesce(end_date, {idx}) >= {d365}), 0) as bed_days_12m,
    -- Within the year only: a longer look-back would be cut short at the start of the data on an early
    -- training date but not on the later validation date, and shift the feature between the two.
    date_diff('day', max(start_date) filter (where setting = 'inpatient' and admission_method = 'emergency'
        and start_date >= {d365}), {idx}) as days_since_emergency_admission,
    count(*) filter (where setting = 'ae' and start_date >= {d182}) as ae_attendances_6m,
    count(*) filter (where setting = 'ae' and start_date >= {d365}) as ae_attendances_12m,
    count(*) filter (where setting = 'outpatient' and start_date >= {d365}) as outpatient_attendances_12m,
    count(*) filter (where setting = 'gp' and start_date >= {d365}) as gp_contacts_12m,
    count(*) filter (where setting = 'community' and start_date >= {d365}) as community_contacts_12m,
    count(*) filter (where setting = 'social_care' and start_date >= {d365}) as social_care_contacts_12m,
    count(*) filter (where setting = 'telehealth' and start_date >= {d90}) as telehealth_encounters_90d
from core.encounter where start_date < {idx} and person_id is not null
group by person_id
"""

_MEDICINES = """
select person_id, count(distinct code) as medicines_12m from core.medication
where authored_on < {idx} and authored_on >= {d365} and code is not null group by person_id
"""

_OBSERVATIONS = """
with obs as (
    select o.person_id, o.code, m.system, o.value_num, o.unit, o.effective_date, o.category
    from core.observation o join risk_system_map m on m.raw = o.code_system
    where o.effective_date < {idx}
)
select person_id,
    arg_max(value_num, effective_date) filter (where l.measure = 'hba1c' and effective_date >= {d456}
        and value_num is not null) as hba1c_raw,
    arg_max(value_num, effective_date) filter (where l.measure = 'egfr' and effective_date >= {d456}
        and value_num is not null) as egfr,
    count(*) filter (where lower(coalesce(category, '')) = 'telehealth' and effective_date >= {d90})
        as telehealth_observations_90d
from obs left join risk_lab_codes l on l.system = obs.system and l.code = obs.code
group by person_id
"""

_OUTCOME = """
select person_id, count(*) as emergency_admissions_next
from core.encounter
where setting = 'inpatient' and admission_method = 'emergency' and start_date >= {idx} and start_date < {end}
group by person_id
"""

_POPULATION = """
select person_id, birth_date, sex, ethnicity_code, cast(imd_decile as integer) as imd_decile, practice_code
from core.person
where birth_date is not null and birth_date < {idx} and (death_date is null or death_date >= {idx})
order by person_id
"""


def _dates(index_date: date, horizon_days: int | None = None) -> dict[str, str]:
    days = {"d90": 90, "d182": 182, "d365": 365, "d456": 456}
    values = {name: _day(index_date - timedelta(days=n)) for name, n in days.items()}
    values["idx"] = _day(index_date)
    if horizon_days is not None:
        values["end"] = _day(index_date + timedelta(days=horizon_days))
    return values


def _register(con: duckdb.DuckDBPyConnection) -> list[str]:
    names = []
    for name, frame in {**_code_tables(), "risk_system_map": _system_map(con)}.items():
        con.register(name, frame)
        names.append(name)
    return names


def _query(con: duckdb.DuckDBPyConnection, sql: str, dates: dict[str, str]) -> pl.DataFrame:
    try:
        frame: pl.DataFrame = con.sql(sql.format(**dates)).pl()
    except duckdb.Error as exc:
        raise RiskError(
            f"could not compute risk features from the warehouse's core tables ({type(exc).__name__}); "
            "build the warehouse first with `joinedup warehouse`"
        ) from exc
    return frame


def _flags(population: pl.DataFrame, long: pl.DataFrame, names: tuple[str, ...], prefix: str) -> pl.DataFrame:
    """One 0/1 column per group name, for every person of the population (one pivot, one join)."""
    present = long.select("person_id", "grp").unique().filter(pl.col("grp").is_in(list(names)))
    if present.height:
        wide = present.with_columns(pl.lit(1, dtype=pl.Int8).alias("flag")).pivot(
            on="grp", index="person_id", values="flag"
        )
    else:
        wide = pl.DataFrame(schema={"person_id": population.schema["person_id"]})
    wide = wide.with_columns([pl.lit(None, dtype=pl.Int8).alias(n) for n in names if n not in wide.columns])
    wide = wide.select("person_id", *[pl.col(n).alias(f"{prefix}{n}") for n in names])
    joined = population.select("person_id").join(wide, on="person_id", how="left")
    return joined.with_columns([pl.col(f"{prefix}{n}").fill_null(0).cast(pl.Int8) for n in names])


def charlson_from_flags(flags: pl.DataFrame) -> pl.DataFrame:
    """Apply Quan's hierarchy to ``cc_*`` flags and add ``charlson_index`` (original 1987 weights)."""
    rules = [pl.when(pl.col(f"cc_{severe}") == 1).then(0).otherwise(pl.col(f"cc_{milder}")).cast(pl.Int8)
             .alias(f"cc_{milder}") for milder, severe in HIERARCHY]
    flags = flags.with_columns(rules)
    weights = charlson_weights("charlson_1987")
    index = sum((pl.col(f"cc_{name}").cast(pl.Int32) * weight for name, weight in weights.items()), pl.lit(0))
    return flags.with_columns(index.alias("charlson_index"))


def build_features(
    con: duckdb.DuckDBPyConnection, index_date: date, *, horizon_days: int | None = None
) -> pl.DataFrame:
    """The feature frame of everyone alive and born before ``index_date``, one row per person.

    Args:
        con: a DuckDB connection holding the warehouse's ``core`` schema.
        index_date: the prediction date; only events before it are counted.
        horizon_days: when given, add ``outcome`` (1 if an emergency admission started in
            ``[index_date, index_date + horizon_days)``) for training and validation.

    Returns:
        person_id, practice_code, sex, ethnicity_code, the model features
        (``model_feature_names()``), ``efi_category`` and, with a horizon, ``outcome``.
    """
    dates = _dates(index_date, horizon_days)
    registered = _register(con)
    try:
        population = _query(con, _POPULATION, dates)
        deficits = _query(con, _CODED_GROUPS, {**dates, "codes": "risk_efi_codes"})
        conditions = _query(con, _CODED_GROUPS, {**dates, "codes": "risk_ltc_codes"})
        charlson = _query(con, _CHARLSON, dates)
        activity = _query(con, _ACTIVITY, dates)
        medicines = _query(con, _MEDICINES, dates)
        observations = _query(con, _OBSERVATIONS, dates)
        outcome = _query(con, _OUTCOME, dates) if horizon_days is not None else None
    finally:
        for name in registered:
            con.unregister(name)
    lace = lace_at_discharge(con, discharged_from=index_date - timedelta(days=365), discharged_before=index_date)
    logger.info("risk features at %s: %d people", index_date.isoformat(), population.height)
    frame = _assemble(
        population, deficits, conditions, charlson, activity, medicines, observations, lace, index_date
    )
    if outcome is not None:
        frame = frame.join(outcome, on="person_id", how="left").with_columns(
            (pl.col("emergency_admissions_next").fill_null(0) > 0).cast(pl.Int8).alias("outcome")
        ).drop("emergency_admissions_next")
    return frame


def _assemble(
    population: pl.DataFrame,
    deficits: pl.DataFrame,
    conditions: pl.DataFrame,
    charlson: pl.DataFrame,
    activity: pl.DataFrame,
    medicines: pl.DataFrame,
    observations: pl.DataFrame,
    lace: pl.DataFrame,
    index_date: date,
) -> pl.DataFrame:
    frame = population.with_columns(
        ((pl.lit(index_date) - pl.col("birth_date")).dt.total_days() / 365.25)
        .floor()
        .cast(pl.Int32)
        .alias("age_years"),
        pl.col("sex").str.to_lowercase().is_in(["female", "f", "2"]).cast(pl.Int8).alias("sex_female"),
    )
    frame = frame.join(activity, on="person_id", how="left").join(medicines, on="person_id", how="left")
    frame = frame.join(observations, on="person_id", how="left")
    last_lace = (
        lace.sort(["person_id", "discharge_date", "encounter_id"]).group_by("person_id").agg(pl.col("lace").last())
    )
    frame = frame.join(last_lace.rename({"lace": "lace_last_discharge"}), on="person_id", how="left")
    counts = [c for c in ACTIVITY_FEATURES if c not in ("days_since_emergency_admission", "telehealth_readings_90d")]
    frame = frame.with_columns(
        [pl.col(c).fill_null(0).cast(pl.Int32) for c in counts]
        + [
            (pl.col("telehealth_encounters_90d").fill_null(0) + pl.col("telehealth_observations_90d").fill_null(0))
            .cast(pl.Int32)
            .alias("telehealth_readings_90d"),
            # HbA1c in % (DCCT) is converted to mmol/mol (IFCC) by the master equation.
            pl.when(pl.col("hba1c_raw") < 20)
            .then(((pl.col("hba1c_raw") - 2.15) * 10.929).round(0))
            .otherwise(pl.col("hba1c_raw"))
            .alias("hba1c_mmol_mol"),
            pl.col("days_since_emergency_admission").cast(pl.Float64),
            pl.col("egfr").cast(pl.Float64),
        ]
    ).drop("hba1c_raw", "telehealth_encounters_90d", "telehealth_observations_90d")
    social = frame.filter(pl.col("social_care_contacts_12m") > 0).select("person_id").with_columns(
        pl.lit("requirement_for_care").alias("grp")
    )
    poly = frame.filter(pl.col("medicines_12m") >= POLYPHARMACY_MEDICINES).select("person_id").with_columns(
        pl.lit("polypharmacy").alias("grp")
    )
    all_deficits = pl.concat([deficits.select("person_id", "grp"), social, poly])
    efi = _flags(population, all_deficits, efi_deficit_names(), "efi_")
    efi_count = pl.sum_horizontal([f"efi_{n}" for n in efi_deficit_names()]).cast(pl.Int32)
    efi = efi.with_columns(efi_count.alias("efi_count"))
    cc = charlson_from_flags(_flags(population, charlson.select("person_id", "grp"), charlson_category_names(), "cc_"))
    ltc = _flags(population, conditions.select("person_id", "grp"), long_term_condition_names(), "ltc_")
    frame = frame.join(efi, on="person_id", how="left").join(cc, on="person_id", how="left")
    frame = frame.join(ltc, on="person_id", how="left")
    frame = frame.with_columns(
        pl.col("charlson_index").cast(pl.Int32),
        _multimorbidity().alias("multimorbidity_count"),
        # Counts, not fractions: fit 0-4, mild 5-8, moderate 9-12, severe 13+ (frailty.efi_category).
        pl.when(pl.col("efi_count") <= 4).then(pl.lit("fit"))
        .when(pl.col("efi_count") <= 8).then(pl.lit("mild"))
        .when(pl.col("efi_count") <= 12).then(pl.lit("moderate"))
        .otherwise(pl.lit("severe"))
        .alias("efi_category"),
    )
    return frame.select(
        ["person_id", "practice_code", "sex", "ethnicity_code", *model_feature_names(), "efi_category"]
    ).sort("person_id")


def _multimorbidity() -> pl.Expr:
    by_condition: dict[str, list[str]] = {}
    for flag, condition in LONG_TERM_CONDITIONS.items():
        by_condition.setdefault(condition, []).append(flag)
    present = [pl.max_horizontal([pl.col(flag) for flag in flags]) for flags in by_condition.values()]
    return pl.sum_horizontal(present).cast(pl.Int32)


_SPELLS = """
select encounter_id, person_id, start_date, end_date,
    coalesce(length_of_stay_days, date_diff('day', start_date, end_date)) as length_of_stay_days,
    coalesce(admission_method = 'emergency', false) as emergency
from core.encounter
where setting = 'inpatient' and end_date is not null and person_id is not null {window}
"""

_SPELL_AE = """
select s.encounter_id, count(a.encounter_id) as ae_visits_6m
from ({spells}) s join core.encounter a on a.person_id = s.person_id and a.setting = 'ae'
    and a.start_date < s.start_date and a.start_date >= s.start_date - interval 182 day
group by s.encounter_id
"""

_SPELL_CHARLSON = (
    _CODED_HISTORY.replace("recorded_date < {idx}", "recorded_date <= {idx}").replace(
        "coalesce(end_date, start_date) < {idx}", "coalesce(end_date, start_date) <= {idx}"
    )
    + """
select p.person_id, c.grp, min(p.coded_date) as first_date
from icd10_prefixes p join risk_charlson_codes c on c.code = p.prefix
group by p.person_id, c.grp
"""
)


def lace_at_discharge(
    con: duckdb.DuckDBPyConnection,
    *,
    discharged_from: date | None = None,
    discharged_before: date | None = None,
) -> pl.DataFrame:
    """The LACE index of every inpatient discharge in a window, from the warehouse.

    C uses the Charlson conditions coded up to and including the discharge date (original weights);
    E counts A&E attendances in the 182 days before the admission date (not the day of admission).

    Returns:
        encounter_id, person_id, discharge_date, length_of_stay_days, emergency, charlson_index,
        ae_visits_6m, the four points columns and ``lace``.
    """
    window = ""
    if discharged_from is not None:
        window += f" and end_date >= {_day(discharged_from)}"
    if discharged_before is not None:
        window += f" and end_date < {_day(discharged_before)}"
    last = discharged_before or date(9999, 1, 1)
    registered = _register(con)
    try:
        spells_sql = _SPELLS.format(window=window)
        spells = _query(con, spells_sql, {})
        ae = _query(con, _SPELL_AE.replace("{spells}", spells_sql), {})
        conditions = _query(con, _SPELL_CHARLSON, {"idx": _day(last)})
    finally:
        for name in registered:
            con.unregister(name)
    return _lace_frame(spells, ae, conditions)


def _lace_frame(spells: pl.DataFrame, ae: pl.DataFrame, conditions: pl.DataFrame) -> pl.DataFrame:
    spells = spells.with_columns(pl.col("end_date").alias("discharge_date"))
    at_discharge = (
        spells.select("encounter_id", "person_id", "discharge_date")
        .join(conditions, on="person_id", how="inner")
        .filter(pl.col("first_date") <= pl.col("discharge_date"))
    )
    names = charlson_category_names()
    wide: Any = at_discharge.select("encounter_id", "grp").unique().with_columns(pl.lit(1, dtype=pl.Int8).alias("v"))
    if wide.height:
        wide = wide.pivot(on="grp", index="encounter_id", values="v")
    else:
        wide = pl.DataFrame(schema={"encounter_id": spells.schema["encounter_id"]})
    for name in names:
        if name not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Int8).alias(name))
    wide = wide.rename({n: f"cc_{n}" for n in names}).with_columns([pl.col(f"cc_{n}").fill_null(0) for n in names])
    scored = charlson_from_flags(wide).select("encounter_id", "charlson_index")
    frame = (
        spells.join(scored, on="encounter_id", how="left")
        .join(ae, on="encounter_id", how="left")
        .with_columns(
            pl.col("charlson_index").fill_null(0).cast(pl.Int32),
            pl.col("ae_visits_6m").fill_null(0).cast(pl.Int32),
            pl.col("length_of_stay_days").clip(lower_bound=0).cast(pl.Int32),
        )
    )
    los = pl.col("length_of_stay_days")
    frame = frame.with_columns(
        pl.when(los <= 3).then(los).when(los <= 6).then(4).when(los <= 13).then(5).otherwise(7)
        .cast(pl.Int32).alias("length_of_stay_points"),
        pl.when(pl.col("emergency")).then(3).otherwise(0).cast(pl.Int32).alias("acuity_points"),
        pl.when(pl.col("charlson_index") >= 4).then(5).otherwise(pl.col("charlson_index"))
        .cast(pl.Int32).alias("comorbidity_points"),
        pl.col("ae_visits_6m").clip(upper_bound=4).cast(pl.Int32).alias("emergency_visit_points"),
    )
    frame = frame.with_columns(
        (
            pl.col("length_of_stay_points") + pl.col("acuity_points")
            + pl.col("comorbidity_points") + pl.col("emergency_visit_points")
        ).alias("lace")
    )
    return frame.select(
        "encounter_id", "person_id", "discharge_date", "length_of_stay_days", "emergency", "charlson_index",
        "ae_visits_6m", "length_of_stay_points", "acuity_points", "comorbidity_points", "emergency_visit_points",
        "lace",
    ).sort("encounter_id")


def feature_matrix(frame: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The model features of a feature frame as a float matrix (missing values as NaN)."""
    return frame.select([pl.col(name).cast(pl.Float64) for name in model_feature_names()]).to_numpy()
