"""Building the warehouse: read what changed in the store, refresh the core layer, rebuild the marts.

A full build reads every linked record row. An incremental build reads only the persons with a
row written since the last build's watermark (their own rows, relinks and merges at both ends),
deletes their core rows and inserts the new ones; the person-month spine and the marts are then
recomputed inside the engine from the core layer, which is fast there and keeps every aggregate
exact. Reference data is small and read whole; if it changed, the build is full.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy.orm import Session, sessionmaker

from joinedup.settings import Settings
from joinedup.warehouse import core
from joinedup.warehouse.codelists import codelist_table
from joinedup.warehouse.engines import WarehouseEngine, open_engine
from joinedup.warehouse.extract import (
    CARE_PLAN_SCHEMA,
    FRAILTY_SCHEMA,
    RawExtract,
    changed_person_ids,
    distinct_ids,
    extract_care_plans,
    extract_frailty,
    extract_record,
    extract_reference,
)
from joinedup.warehouse.marts import MARTS, MartInputs, mart_builder
from joinedup.warehouse.optouts import WAREHOUSE_PURPOSE, SecondaryUseResolver, governance_secondary_use

logger = logging.getLogger(__name__)

# Rows committed while a build reads may carry an earlier updated_at: the next build looks back
# this far before the last build's start (re-reading a person is harmless).
WATERMARK_OVERLAP = timedelta(minutes=5)

BUILD_RUN_SCHEMA = pa.schema(
    [
        ("started_at", pa.timestamp("us")),
        ("finished_at", pa.timestamp("us")),
        ("mode", pa.string()),
        ("engine", pa.string()),
        ("watermark_at", pa.timestamp("us")),
        ("reference_checksum", pa.string()),
        ("changed_person_count", pa.int64()),
        ("as_of", pa.date32()),
    ]
)


@dataclass(frozen=True)
class BuildReport:
    """What a build did: mode, time taken, persons refreshed, rows per published table."""

    engine: str
    mode: Literal["full", "incremental"]
    started_at: datetime
    seconds: float
    as_of: date
    changed_person_count: int
    secondary_use_person_count: int
    opted_out_person_count: int
    rows_read: dict[str, int] = field(default_factory=dict)
    table_rows: dict[str, int] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)


def _reference_checksum(organisations: pa.Table, small_areas: pa.Table) -> str:
    digest = hashlib.sha256()
    for table in (organisations, small_areas):
        for row in sorted(map(repr, table.to_pylist())):
            digest.update(row.encode())
    return digest.hexdigest()


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _last_run(engine: WarehouseEngine) -> dict[str, object] | None:
    if not engine.has_table("meta", "build_run"):
        return None
    runs = engine.to_arrow(engine.table("meta", "build_run")).to_pylist()
    return max(runs, key=lambda run: run["finished_at"]) if runs else None


def _core_expressions(engine: WarehouseEngine, raw: RawExtract) -> dict[str, ir.Table]:
    organisation = engine.table("core", "organisation")
    small_area = engine.table("core", "small_area")
    return {
        "person": core.core_person(engine.memtable(raw.source_patient), organisation, small_area),
        "encounter": core.core_encounter(engine.memtable(raw.encounter)),
        "diagnosis": core.core_diagnosis(engine.memtable(raw.condition)),
        "observation": core.core_observation(engine.memtable(raw.observation)),
        "medication": core.core_medication(engine.memtable(raw.medication)),
    }


def _data_window(engine: WarehouseEngine, as_of: date | None) -> tuple[date, date]:
    """The first and last month with activity (the spine's window), ending at ``as_of`` if given."""
    encounter = engine.table("core", "encounter")
    bounds = engine.to_arrow(
        encounter.aggregate(first=encounter.start_date.min(), last=encounter.start_date.max())
    ).to_pylist()[0]
    today = datetime.now(UTC).date()
    last = as_of or bounds["last"] or today
    first = bounds["first"] or last
    return min(first, last), last


def _timed(steps: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    steps[name] = round(now - started, 3)
    return now


def build_warehouse(
    session_factory: sessionmaker[Session],
    settings: Settings,
    engine: str | WarehouseEngine = "duckdb",
    *,
    full: bool = False,
    as_of: date | None = None,
    secondary_use: SecondaryUseResolver | None = None,
) -> BuildReport:
    """Build or refresh the warehouse from the operational store.

    Args:
        session_factory: sessions on the operational store (read only here).
        settings: where the warehouse lives (``settings.warehouse_path``) and the Spark master.
        engine: ``"duckdb"`` (default), ``"spark"``, or an engine already opened.
        full: rebuild everything, ignoring the last build's watermark.
        as_of: the reporting date the marts describe; default the latest activity date in the data.
        secondary_use: who secondary uses may include; default governance's opt-out check.

    Returns:
        What was built, with timings and row counts.
    """
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    steps: dict[str, float] = {}
    warehouse = open_engine(engine, settings) if isinstance(engine, str) else engine
    resolver: Callable[[Session, str, date], set[str]] = secondary_use or governance_secondary_use
    try:
        last_run = None if full else _last_run(warehouse)
        with session_factory() as session:
            connection = session.connection()
            organisations, small_areas = extract_reference(connection)
            checksum = _reference_checksum(organisations, small_areas)
            incremental = (
                last_run is not None
                and last_run["reference_checksum"] == checksum
                and all(warehouse.has_table("core", name) for name in core.CORE_TABLES)
            )
            changed: list[str] = []
            if incremental and last_run is not None:
                watermark = last_run["watermark_at"]
                assert isinstance(watermark, datetime)
                changed = changed_person_ids(connection, watermark.replace(tzinfo=UTC))
                raw = extract_record(connection, changed)
            else:
                raw = extract_record(connection)
            care_plans = extract_care_plans(connection)
            frailty = extract_frailty(connection)
            session.rollback()
        clock = _timed(steps, "extract", clock)

        warehouse.load("core", "organisation", organisations)
        warehouse.load("core", "small_area", small_areas)
        expressions = _core_expressions(warehouse, raw)
        if incremental:
            changed_table = distinct_ids(changed)
            for name, expr in expressions.items():
                warehouse.replace_person_rows("core", name, changed_table, expr)
        else:
            for name, expr in expressions.items():
                warehouse.materialise("core", name, expr)
        first, last = _data_window(warehouse, as_of)
        warehouse.load("core", "calendar", core.month_calendar(first, last))
        warehouse.materialise(
            "core",
            "person_month",
            core.core_person_month(warehouse.table("core", "person"), warehouse.table("core", "calendar")),
        )
        warehouse.load("core", "care_plan", care_plans if care_plans.num_rows else CARE_PLAN_SCHEMA.empty_table())
        warehouse.load("core", "frailty", frailty if frailty is not None else FRAILTY_SCHEMA.empty_table())
        warehouse.load(
            "meta",
            "frailty_source",
            pa.table({"available_flag": pa.array([frailty is not None], pa.bool_())}),
        )
        reporting_date = as_of or last
        # Opt-outs as of the reporting date: the cleaned list in force for the period described.
        with session_factory() as session:
            allowed_ids = resolver(session, WAREHOUSE_PURPOSE, reporting_date)
            session.rollback()
        if not allowed_ids:
            logger.warning("governance allowed nobody for %s: the marts will be empty", WAREHOUSE_PURPOSE)
        warehouse.load("core", "secondary_use_person", distinct_ids(allowed_ids))
        warehouse.load("core", "codelist", codelist_table())
        clock = _timed(steps, "core", clock)

        core_tables = {
            name: warehouse.table("core", name)
            for name in (*core.CORE_TABLES, "care_plan", "frailty", "codelist")
        }
        table_rows: dict[str, int] = {}
        for mart in MARTS:
            mart_builder(mart)(
                MartInputs(
                    core=core_tables,
                    allowed=warehouse.table("core", "secondary_use_person"),
                    as_of=reporting_date,
                    publish=_publisher(warehouse, mart),
                    read=warehouse.table,
                )
            )
            clock = _timed(steps, f"mart:{mart}", clock)
        for name in core.CORE_TABLES:
            table_rows[f"core.{name}"] = _count(warehouse, warehouse.table("core", name))
        person_count = table_rows["core.person"]
        allowed_count = _count(
            warehouse,
            warehouse.table("core", "person").semi_join(warehouse.table("core", "secondary_use_person"), "person_id"),
        )

        finished_at = datetime.now(UTC)
        run = {
            "started_at": _naive_utc(started_at),
            "finished_at": _naive_utc(finished_at),
            "mode": "incremental" if incremental else "full",
            "engine": warehouse.name,
            "watermark_at": _naive_utc(started_at - WATERMARK_OVERLAP),
            "reference_checksum": checksum,
            "changed_person_count": len(changed) if incremental else person_count,
            "as_of": reporting_date,
        }
        runs = [] if last_run is None else engine_runs(warehouse)
        warehouse.load("meta", "build_run", pa.Table.from_pylist([*runs, run], schema=BUILD_RUN_SCHEMA))
        report = BuildReport(
            engine=warehouse.name,
            mode="incremental" if incremental else "full",
            started_at=started_at,
            seconds=round(time.perf_counter() - clock + sum(steps.values()), 3),
            as_of=reporting_date,
            changed_person_count=len(changed) if incremental else person_count,
            secondary_use_person_count=allowed_count,
            opted_out_person_count=person_count - allowed_count,
            rows_read=raw.row_counts(),
            table_rows=table_rows,
            step_seconds=steps,
        )
        logger.info(
            "warehouse %s build on %s: %d persons refreshed in %.1f s",
            report.mode,
            report.engine,
            report.changed_person_count,
            report.seconds,
        )
        return report
    finally:
        if isinstance(engine, str):
            warehouse.close()


def engine_runs(warehouse: WarehouseEngine) -> list[dict[str, object]]:
    """Every recorded build run of this warehouse, oldest first."""
    if not warehouse.has_table("meta", "build_run"):
        return []
    runs = warehouse.to_arrow(warehouse.table("meta", "build_run")).to_pylist()
    return sorted(runs, key=lambda run: run["started_at"])


def _publisher(warehouse: WarehouseEngine, mart: str) -> Callable[[str, ir.Table], ir.Table]:
    """Build a mart's table in the engine at once and hand back the built table to build on."""

    def publish(name: str, expr: ir.Table) -> ir.Table:
        warehouse.materialise(mart, name, expr)
        return warehouse.table(mart, name)

    return publish


def _count(warehouse: WarehouseEngine, table: ir.Table) -> int:
    value = warehouse.to_arrow(table.aggregate(n=table.count())).column("n")[0].as_py()
    return int(value)
