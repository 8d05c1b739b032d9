"""Reading the operational store into Arrow tables the engines take.

The store is SQLite or PostgreSQL behind SQLAlchemy; DuckDB's scanner extensions are not available
(they download binaries at run time). A full build reads each record table whole with connectorx,
which runs the query in Rust and fills Arrow columns directly, several tables at once; small and
parameterised reads (reference data, the changed persons of an incremental build) use the store's
own driver in batches of ``BATCH_ROWS``. Each record table comes with its linked ``person_id`` (a
merged person resolves to the person it was merged into). Timestamps arrive as naive UTC so engines
cut the same dates.
"""

from __future__ import annotations

import json
import logging
import subprocess  # nosec B404 - runs our own bulk_reader.py script only
import sys
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias

import pyarrow as pa
from sqlalchemy import Connection, MetaData, Select, Table, func, inspect, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from joinedup.store.tables import (
    CareDocument,
    Condition,
    Encounter,
    Medication,
    Observation,
    Organisation,
    Person,
    PersonLinkEvent,
    SmallArea,
    SourcePatient,
)
from joinedup.warehouse.errors import WarehouseError

logger = logging.getLogger(__name__)

# A SELECT of any columns (SQLAlchemy 2.1 types selects by their column tuple).
AnySelect: TypeAlias = Select[*tuple[Any, ...]]

BATCH_ROWS = 50_000
# Persons (or source patients) per IN (...) list when reading only the changed persons.
PERSON_CHUNK = 900
# Run as a script (not imported), so its process loads connectorx and pyarrow only.
BULK_READER = Path(__file__).with_name("bulk_reader.py")

TS = pa.timestamp("us")

_MERGED = aliased(Person)
PERSON_ID = func.coalesce(_MERGED.merged_into_person_id, SourcePatient.person_id)


@dataclass(frozen=True)
class RawExtract:
    """The store's rows the core layer is built from, as Arrow tables."""

    source_patient: pa.Table
    encounter: pa.Table
    condition: pa.Table
    observation: pa.Table
    medication: pa.Table

    def row_counts(self) -> dict[str, int]:
        """Rows read per store table."""
        return {name: getattr(self, name).num_rows for name in self.__dataclass_fields__}


SOURCE_PATIENT_SCHEMA = pa.schema(
    [
        ("source_patient_id", pa.int64()),
        ("person_id", pa.string()),
        ("source", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
        ("ethnicity_code", pa.string()),
        ("lsoa_code", pa.string()),
        ("practice_code", pa.string()),
        ("deceased_date", pa.date32()),
        ("recorded_at", TS),
    ]
)
ENCOUNTER_SCHEMA = pa.schema(
    [
        ("encounter_id", pa.int64()),
        ("person_id", pa.string()),
        ("setting", pa.string()),
        ("admission_method", pa.string()),
        ("status", pa.string()),
        ("start_at", TS),
        ("end_at", TS),
        ("org_code", pa.string()),
        ("primary_diagnosis_code", pa.string()),
        ("primary_diagnosis_code_system", pa.string()),
        ("discharge_destination", pa.string()),
        ("cost_gbp", pa.float64()),
        ("source", pa.string()),
    ]
)
CONDITION_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("code", pa.string()),
        ("code_system", pa.string()),
        ("clinical_status", pa.string()),
        ("onset_date", pa.date32()),
        ("encounter_start_at", TS),
        ("received_at", TS),
        ("sealed_flag", pa.bool_()),
        ("source", pa.string()),
    ]
)
OBSERVATION_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("code", pa.string()),
        ("code_system", pa.string()),
        ("value_num", pa.float64()),
        ("unit", pa.string()),
        ("effective_at", TS),
        ("category", pa.string()),
        ("sealed_flag", pa.bool_()),
        ("source", pa.string()),
    ]
)
MEDICATION_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("code", pa.string()),
        ("code_system", pa.string()),
        ("display", pa.string()),
        ("status", pa.string()),
        ("authored_on", pa.date32()),
    ]
)


def _linked(stmt: AnySelect, patient_key: Any) -> AnySelect:
    """Join a record table to its source patient and that patient's (possibly merged) person."""
    return (
        stmt.join(SourcePatient, SourcePatient.source_patient_id == patient_key)
        .outerjoin(_MERGED, _MERGED.person_id == SourcePatient.person_id)
        .where(SourcePatient.person_id.is_not(None))
    )


def source_patient_query() -> AnySelect:
    """Each linked source patient's demographics, with when the source said they were true."""
    stmt = select(
        SourcePatient.source_patient_id,
        PERSON_ID.label("person_id"),
        SourcePatient.source,
        SourcePatient.birth_date,
        SourcePatient.sex,
        SourcePatient.ethnicity_code,
        SourcePatient.lsoa_code,
        SourcePatient.registered_practice_code,
        SourcePatient.deceased_date,
        func.coalesce(SourcePatient.source_updated_at, SourcePatient.updated_at),
    ).select_from(SourcePatient)
    return stmt.outerjoin(_MERGED, _MERGED.person_id == SourcePatient.person_id).where(
        SourcePatient.person_id.is_not(None)
    )


def encounter_query() -> AnySelect:
    """Encounters with their person."""
    stmt = select(
        Encounter.encounter_id,
        PERSON_ID.label("person_id"),
        Encounter.setting,
        Encounter.admission_method,
        Encounter.status,
        Encounter.start_at,
        Encounter.end_at,
        Encounter.org_code,
        Encounter.primary_diagnosis_code,
        Encounter.primary_diagnosis_code_system,
        Encounter.discharge_destination,
        Encounter.cost_gbp,
        Encounter.source,
    ).select_from(Encounter)
    return _linked(stmt, Encounter.source_patient_id)


def condition_query() -> AnySelect:
    """Conditions with their person and, for encounter diagnoses, the encounter's start."""
    stmt = (
        select(
            PERSON_ID.label("person_id"),
            Condition.code,
            Condition.code_system,
            Condition.clinical_status,
            Condition.onset_date,
            Encounter.start_at,
            Condition.received_at,
            Condition.sealed_flag,
            Condition.source,
        )
        .select_from(Condition)
        .outerjoin(Encounter, Encounter.encounter_id == Condition.encounter_id)
    )
    return _linked(stmt, Condition.source_patient_id)


def observation_query() -> AnySelect:
    """Observations with their person."""
    stmt = select(
        PERSON_ID.label("person_id"),
        Observation.code,
        Observation.code_system,
        Observation.value_num,
        Observation.unit,
        Observation.effective_at,
        Observation.category,
        Observation.sealed_flag,
        Observation.source,
    ).select_from(Observation)
    return _linked(stmt, Observation.source_patient_id)


def medication_query() -> AnySelect:
    """Medications with their person."""
    stmt = select(
        PERSON_ID.label("person_id"),
        Medication.code,
        Medication.code_system,
        Medication.display,
        Medication.status,
        Medication.authored_on,
    ).select_from(Medication)
    return _linked(stmt, Medication.source_patient_id)


def _column(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    """One column as Arrow, whatever the driver returned (SQLite text, PostgreSQL objects)."""
    sample = next((value for value in values if value is not None), None)
    if isinstance(sample, str) and not pa.types.is_string(kind):
        # SQLite keeps dates and UTC timestamps as ISO text: Arrow parses them in bulk.
        return pa.array(values, pa.string()).cast(kind)
    if pa.types.is_timestamp(kind):
        # Aware datetimes become UTC instants; dropping the zone afterwards keeps the UTC value.
        return pa.array(values, pa.timestamp("us", tz="UTC")).cast(kind)
    if pa.types.is_floating(kind):
        return pa.array([None if value is None else float(value) for value in values], kind)
    if pa.types.is_boolean(kind) and isinstance(sample, int) and not isinstance(sample, bool):
        return pa.array(values, pa.int8()).cast(kind)
    return pa.array(values, kind)


def read_arrow(connection: Connection, stmt: AnySelect, schema: pa.Schema) -> pa.Table:
    """Run ``stmt`` on the store's own driver and gather its rows, ``BATCH_ROWS`` at a time, as Arrow.

    The driver's cursor is used directly: SQLAlchemy's per-value result processing (parsing every
    SQLite timestamp in Python) would dominate a large build.
    """
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.construct_params()
    if compiled.positiontup is not None:
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    batches: list[pa.RecordBatch] = []
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(BATCH_ROWS):
            columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
            arrays = [_column(values, field.type) for values, field in zip(columns, schema, strict=True)]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    finally:
        cursor.close()
    return pa.Table.from_batches(batches, schema=schema)


def bulk_address(connection: Connection) -> str | None:
    """The store's address for connectorx: a SQLite file or PostgreSQL; ``None`` for anything else."""
    url = connection.engine.url
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return f"sqlite://{Path(database).resolve()}"
    if backend == "postgresql":
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """connectorx's columns cast to the extract's schema: naive UTC timestamps, floats, booleans."""
    arrays = []
    for column, field in zip(table.columns, schema, strict=True):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            # PostgreSQL's timestamptz: normalise to UTC, then drop the zone (the value stays UTC).
            column = column.cast(pa.timestamp("us", tz="UTC"))
        # SQLite gives the text it holds for computed columns (ISO dates and timestamps): Arrow parses it.
        arrays.append(column if column.type == field.type else column.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def read_bulk(
    address: str, connection: Connection, reads: list[tuple[AnySelect, pa.Schema]], folder: Path
) -> list[pa.Table]:
    """Read whole tables with connectorx, one after another, in a process of its own (see ``bulk_reader``).

    The statements have no user-supplied values, so they are rendered with their constants inline.
    The rows come back as Arrow files in ``folder``.
    """
    sqlite = address.startswith("sqlite:")
    jobs = []
    for stmt, schema in reads:
        sql = str(stmt.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        jobs.append({"sql": _typed_first_row(sql, schema) if sqlite else sql,
                     "out": str(folder / f"{uuid.uuid4().hex}.arrow")})
    finished = subprocess.run(  # noqa: S603  # nosec B603 - our own script, by the running interpreter
        [sys.executable, str(BULK_READER)],
        input=json.dumps({"address": address, "reads": jobs}),
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        # connectorx's message may quote the store's address or the query: report the exit code only.
        raise WarehouseError(f"bulk read failed (exit {finished.returncode})")
    tables = []
    for job, (_, schema) in zip(jobs, reads, strict=True):
        # Read into memory (not memory-mapped): the folder is removed once every read is in.
        with pa.OSFile(job["out"], "rb") as source:
            table = pa.ipc.open_file(source).read_all()
        tables.append(_conform(table.slice(1) if sqlite else table, schema))
    return tables


# A value of each Arrow type for the typed first row (dates and timestamps are text in SQLite).
_SENTINELS = {"string": "''", "double": "0.5", "int64": "0", "bool": "0", "date32[day]": "'1970-01-01'",
              "timestamp[us]": "'1970-01-01 00:00:00'"}


def _typed_first_row(sql: str, schema: pa.Schema) -> str:
    """The query behind one row of non-null values of each column's type, dropped after the read.

    Why: connectorx types a SQLite column from its declared type where it knows it, and otherwise
    (computed columns such as the merged person, NUMERIC costs) from the first row's value, so a
    NULL there fails the whole read ("Cannot infer type from null"). The constants are ours.
    """
    values = ", ".join(_SENTINELS.get(str(field.type), "''") for field in schema)
    return f"SELECT {values} UNION ALL SELECT * FROM ({sql})"


@dataclass(frozen=True)
class _Read:
    """One record table to read: its name, query, Arrow schema and the column naming its source patient."""

    name: str
    stmt: AnySelect
    schema: pa.Schema
    patient_key: InstrumentedAttribute[int]


def _record_reads() -> list[_Read]:
    return [
        _Read("encounter", encounter_query(), ENCOUNTER_SCHEMA, Encounter.source_patient_id),
        _Read("observation", observation_query(), OBSERVATION_SCHEMA, Observation.source_patient_id),
        _Read("condition", condition_query(), CONDITION_SCHEMA, Condition.source_patient_id),
        _Read("medication", medication_query(), MEDICATION_SCHEMA, Medication.source_patient_id),
    ]


def _read_whole(connection: Connection, reads: list[_Read]) -> dict[str, pa.Table]:
    """Every row of each table: connectorx in two reader processes, when it can reach the store.

    The machines the warehouse is sized for have 2 cores. ``reads`` come largest first: one process
    reads the largest table (encounters, about two thirds of the rows), the other the rest, so the
    two finish at about the same time.
    """
    address = bulk_address(connection)
    if address is not None:
        groups = [reads[:1], reads[1:]]
        try:
            with tempfile.TemporaryDirectory(prefix="joinedup-extract-") as folder, ThreadPoolExecutor(
                max_workers=len(groups)
            ) as pool:
                futures = [
                    pool.submit(read_bulk, address, connection, [(read.stmt, read.schema) for read in group],
                                Path(folder))
                    for group in groups
                ]
                tables = [table for future in futures for table in future.result()]
            return {read.name: table for read, table in zip([*groups[0], *groups[1]], tables, strict=True)}
        except Exception as exc:  # an unusual store or driver setting: the driver's path still works
            logger.warning("bulk read failed (%s); reading through the store's driver", type(exc).__name__)
    return {read.name: read_arrow(connection, read.stmt, read.schema) for read in reads}


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[start : start + PERSON_CHUNK] for start in range(0, len(values), PERSON_CHUNK)]


def _read_persons(connection: Connection, reads: list[_Read], person_ids: list[str]) -> dict[str, pa.Table]:
    """The rows of the given persons only.

    The persons' source patients are found first; record rows are then read by ``source_patient_id``,
    which the store indexes (a filter on the resolved person would scan every table).
    """
    patients = pa.concat_tables(
        [SOURCE_PATIENT_SCHEMA.empty_table()]
        + [
            read_arrow(connection, source_patient_query().where(PERSON_ID.in_(chunk)), SOURCE_PATIENT_SCHEMA)
            for chunk in _chunks(person_ids)
        ]
    )
    patient_ids = sorted(set(patients.column("source_patient_id").to_pylist()))
    tables = {"source_patient": patients}
    for read in reads:
        tables[read.name] = pa.concat_tables(
            [read.schema.empty_table()]
            + [
                read_arrow(connection, read.stmt.where(read.patient_key.in_(chunk)), read.schema)
                for chunk in _chunks(patient_ids)
            ]
        )
    return tables


def extract_record(connection: Connection, person_ids: list[str] | None = None) -> RawExtract:
    """Read every linked record row, or only the rows of ``person_ids`` (incremental builds)."""
    reads = _record_reads()
    if person_ids is None:
        reads = [*reads, _Read("source_patient", source_patient_query(), SOURCE_PATIENT_SCHEMA,
                               SourcePatient.source_patient_id)]
        tables = _read_whole(connection, reads)
    else:
        tables = _read_persons(connection, reads, person_ids)
    for name, table in tables.items():
        logger.info("read %d rows from %s", table.num_rows, name)
    return RawExtract(**tables)


def changed_person_ids(connection: Connection, since: datetime) -> list[str]:
    """Persons with any row written since ``since``: their own rows, relinks, merges, unmerges."""
    found: set[str] = set()
    patient_changes = select(PERSON_ID).select_from(SourcePatient)
    patient_changes = patient_changes.outerjoin(_MERGED, _MERGED.person_id == SourcePatient.person_id)
    found.update(
        row[0]
        for row in connection.execute(
            patient_changes.where(SourcePatient.updated_at > since, SourcePatient.person_id.is_not(None))
        )
    )
    for table in (Encounter, Condition, Observation, Medication):
        stmt = _linked(select(PERSON_ID).select_from(table), table.source_patient_id)
        found.update(row[0] for row in connection.execute(stmt.where(table.updated_at > since).distinct()))
    # A relink or merge moves rows away from a person too: rebuild both ends.
    events = select(PersonLinkEvent.from_person_id, PersonLinkEvent.to_person_id).where(
        PersonLinkEvent.recorded_at > since
    )
    for from_person, to_person in connection.execute(events):
        found.update(person for person in (from_person, to_person) if person)
    return sorted(found)


ORGANISATION_SCHEMA = pa.schema(
    [("org_code", pa.string()), ("kind", pa.string()), ("neighbourhood", pa.string())]
)
SMALL_AREA_SCHEMA = pa.schema(
    [("lsoa_code", pa.string()), ("imd_decile", pa.int64()), ("neighbourhood", pa.string())]
)


def extract_reference(connection: Connection) -> tuple[pa.Table, pa.Table]:
    """Organisations and small areas (small; read whole every build)."""
    organisations = read_arrow(
        connection,
        select(Organisation.org_code, Organisation.kind, Organisation.neighbourhood),
        ORGANISATION_SCHEMA,
    )
    small_areas = read_arrow(
        connection,
        select(SmallArea.lsoa_code, SmallArea.imd_decile, SmallArea.neighbourhood),
        SMALL_AREA_SCHEMA,
    )
    return organisations, small_areas


CARE_PLAN_SCHEMA = pa.schema([("person_id", pa.string()), ("source", pa.string())])
FRAILTY_SCHEMA = pa.schema([("person_id", pa.string()), ("efi_category", pa.string()), ("scored_at", TS)])


def _reflect(connection: Connection, name: str) -> Table | None:
    """A table another area owns, if its migration has run (the warehouse never imports that area)."""
    if not inspect(connection).has_table(name):
        return None
    return Table(name, MetaData(), autoload_with=connection)


def extract_care_plans(connection: Connection) -> pa.Table:
    """Persons with a shared care plan: CarePlan documents in the record, plus coordination's plans."""
    plans = _linked(
        select(PERSON_ID, literal("record")).select_from(CareDocument), CareDocument.source_patient_id
    ).where(CareDocument.resource_type == "CarePlan", or_(CareDocument.status.is_(None),
                                                          CareDocument.status.not_in(["entered-in-error", "revoked"])))
    parts = [read_arrow(connection, plans.distinct(), CARE_PLAN_SCHEMA)]
    coordination = _reflect(connection, "care_plan")
    if coordination is not None and "person_id" in coordination.c:
        stmt = select(coordination.c.person_id, literal("coordination")).where(
            coordination.c.person_id.is_not(None)
        )
        if "status" in coordination.c:
            stmt = stmt.where(coordination.c.status.not_in(["entered-in-error", "revoked", "cancelled"]))
        parts.append(read_arrow(connection, stmt.distinct(), CARE_PLAN_SCHEMA))
    return pa.concat_tables(parts)


def extract_frailty(connection: Connection) -> pa.Table | None:
    """Each person's latest eFI category from the risk area's ``risk_score`` table, if it exists."""
    scores = _reflect(connection, "risk_score")
    if scores is None:
        return None
    if not {"person_id", "efi_category", "scored_at"} <= set(scores.c.keys()):
        logger.warning("risk_score has no efi_category column; frailty left flagged as missing")
        return None
    # Every scoring run stores each person's eFI category beside the admission-risk score.
    stmt = select(scores.c.person_id, scores.c.efi_category, scores.c.scored_at)
    table = read_arrow(connection, stmt, FRAILTY_SCHEMA)
    return _latest_per_person(table)


def _latest_per_person(table: pa.Table) -> pa.Table:
    """Keep each person's most recent row (by ``scored_at``)."""
    ordered = table.sort_by([("person_id", "ascending"), ("scored_at", "descending")])
    seen: set[str] = set()
    mask = []
    for person in ordered.column("person_id").to_pylist():
        mask.append(person not in seen)
        seen.add(person)
    return ordered.filter(pa.array(mask, pa.bool_()))


def distinct_ids(values: Iterable[str]) -> pa.Table:
    """A one-column ``person_id`` table."""
    return pa.table({"person_id": pa.array(sorted(set(values)), pa.string())})
