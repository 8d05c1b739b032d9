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
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
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
from joinedup.warehouse.marts import MARTS, MartInputs, Publish, mart_builder
from joinedup.warehouse.optouts import WAREHOUSE_PURPOSE, SecondaryUseResolver, governance_secondary_use

logger = logging.getLogger(__name__)

WAREHOUSE_DIR = Path(__file__).parent
# Beyond this many changed persons, person-grain mart tables are rebuilt whole: a list of persons that
# long costs more to compile and filter by than the rebuild saves.
PERSON_REFRESH_LIMIT = 5_000

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
        ("mart_checksum", pa.string()),
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
    step_cpu_seconds: dict[str, float] = field(default_factory=dict)


def _reference_checksum(organisations: pa.Table, small_areas: pa.Table) -> str:
    digest = hashlib.sha256()
    for table in (organisations, small_areas):
        for row in sorted(map(repr, table.to_pylist())):
            digest.update(row.encode())
    return digest.hexdigest()


def _mart_checksum(reporting_date: date, allowed_ids: set[str]) -> str:
    """What person-grain mart rows depend on besides the person's own rows.

    The definitions (the warehouse's source and code lists), the reporting date and the persons
    secondary use may include: while these stay the same, an incremental build may refresh
    person-grain mart tables for the changed persons only.
    """
    digest = hashlib.sha256()
    for path in sorted(WAREHOUSE_DIR.rglob("*")):
        if path.suffix in {".py", ".yml"}:
            digest.update(path.relative_to(WAREHOUSE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    digest.update(reporting_date.isoformat().encode())
    for person_id in sorted(allowed_ids):
        digest.update(person_id.encode() + b"\0")
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


def _same_calendar(engine: WarehouseEngine, calendar: pa.Table) -> bool:
    """Whether the built ``core.calendar`` has exactly these months."""
    if not engine.has_table("core", "calendar"):
        return False
    built = engine.to_arrow(engine.table("core", "calendar")).column("month").to_pylist()
    return bool(sorted(built) == calendar.column("month").to_pylist())


def _cpu_seconds() -> float:
    """CPU used by this process (every engine thread) and its finished children (the extract's readers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class _Clock:
    """Wall and CPU seconds per build step (the machine is shared: CPU shows the work, wall the wait)."""

    steps: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    wall_mark: float = field(default_factory=time.perf_counter)
    cpu_mark: float = field(default_factory=_cpu_seconds)

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), _cpu_seconds()
        self.steps[name] = round(wall - self.wall_mark, 3)
        self.cpu[name] = round(cpu - self.cpu_mark, 3)
        self.wall_mark, self.cpu_mark = wall, cpu


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
    clock = _Clock()
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
        clock.lap("extract")

        warehouse.load("core", "organisation", organisations)
        warehouse.load("core", "small_area", small_areas)
        expressions = _core_expressions(warehouse, raw)
        changed_table = distinct_ids(changed)
        if incremental:
            for name, expr in expressions.items():
                warehouse.replace_person_rows("core", name, changed_table, expr)
        else:
            for name, expr in expressions.items():
                warehouse.materialise("core", name, expr)
        first, last = _data_window(warehouse, as_of)
        calendar = core.month_calendar(first, last)
        same_window = incremental and _same_calendar(warehouse, calendar)
        warehouse.load("core", "calendar", calendar)
        person = warehouse.table("core", "person")
        if same_window:
            # The window did not move: only the changed persons' months can differ.
            changed_persons = person.semi_join(warehouse.memtable(changed_table), "person_id")
            months = core.core_person_month(changed_persons, warehouse.table("core", "calendar"))
            warehouse.replace_person_rows("core", "person_month", changed_table, months)
        else:
            warehouse.materialise(
                "core", "person_month", core.core_person_month(person, warehouse.table("core", "calendar"))
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
        clock.lap("core")

        mart_checksum = _mart_checksum(reporting_date, allowed_ids)
        # Person-grain mart tables may be refreshed for the changed persons only when nothing else
        # they depend on moved since the last build.
        refresh_persons = (
            changed
            if incremental
            and last_run is not None
            and last_run.get("mart_checksum") == mart_checksum
            and len(changed) <= PERSON_REFRESH_LIMIT
            else None
        )
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
                    publish=_publisher(warehouse, mart, refresh_persons),
                    read=warehouse.table,
                )
            )
            clock.lap(f"mart:{mart}")
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
            "mart_checksum": mart_checksum,
        }
        runs = [] if last_run is None else engine_runs(warehouse)
        warehouse.load("meta", "build_run", pa.Table.from_pylist([*runs, run], schema=BUILD_RUN_SCHEMA))
        report = BuildReport(
            engine=warehouse.name,
            mode="incremental" if incremental else "full",
            started_at=started_at,
            seconds=round(time.perf_counter() - clock.wall_mark + sum(clock.steps.values()), 3),
            as_of=reporting_date,
            changed_person_count=len(changed) if incremental else person_count,
            secondary_use_person_count=allowed_count,
            opted_out_person_count=person_count - allowed_count,
            rows_read=raw.row_counts(),
            table_rows=table_rows,
            step_seconds=clock.steps,
            step_cpu_seconds=clock.cpu,
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


def _publisher(warehouse: WarehouseEngine, mart: str, changed: list[str] | None) -> Publish:
    """Build a mart's table in the engine at once and hand back the built table to build on.

    With ``changed`` (an incremental build whose reporting date, opt-outs and definitions are
    unchanged), a person-grain table already built keeps its other persons' rows and has only the
    changed persons' rows replaced. The persons go in as a list of values, not a joined table, so
    the engine can push the filter below joins and aggregates down to the scans.
    """

    def publish(name: str, expr: ir.Table, *, by_person: bool = False) -> ir.Table:
        if by_person and changed is not None and warehouse.has_table(mart, name):
            if changed:
                rows = expr.filter(expr.person_id.isin(changed))
                warehouse.replace_person_rows(mart, name, distinct_ids(changed), rows)
        else:
            warehouse.materialise(mart, name, expr)
        return warehouse.table(mart, name)

    return publish


def _count(warehouse: WarehouseEngine, table: ir.Table) -> int:
    value = warehouse.to_arrow(table.aggregate(n=table.count())).column("n")[0].as_py()
    return int(value)
