"""The Spark engine: the same Ibis definitions on PySpark (local in tests, a cluster in production).

A session is started once per process (``local[2]`` by default, ``settings.spark_master``), bound to
127.0.0.1 with a warehouse directory of its own, and UTC as its time zone so dates cut from
timestamps match DuckDB's.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from joinedup.settings import Settings
from joinedup.warehouse.errors import WarehouseError

logger = logging.getLogger(__name__)

_SESSION: Any = None


@contextmanager
def _quiet_pandas() -> Iterator[None]:
    """PySpark 4.0 sets a pandas option pandas 3 deprecates on every Arrow conversion: not ours to fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        yield


def spark_session(master: str = "local[2]") -> Any:
    """The process's Spark session, started on first use (about 10 seconds)."""
    global _SESSION
    if _SESSION is None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise WarehouseError("the Spark engine needs pyspark: pip install 'joinedup[spark]'") from exc
        warehouse_dir = tempfile.mkdtemp(prefix="joinedup-spark-")
        _SESSION = (
            SparkSession.builder.master(master)
            .appName("joinedup-warehouse")
            .config("spark.sql.warehouse.dir", warehouse_dir)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.ui.showConsoleProgress", "false")
            # SQL semantics as DuckDB's: a division by zero or a bad cast gives null, not an error.
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate()
        )
        _SESSION.sparkContext.setLogLevel("ERROR")
        logger.info("spark session started (master %s)", master)
    return _SESSION


class SparkEngine:
    """Runs warehouse expressions on PySpark through Ibis's pyspark backend."""

    name = "spark"

    def __init__(self, session: Any, *, persist: bool = True) -> None:
        self.session = session
        # persist=False keeps tables as cached temporary views (tests): no files, no catalogue.
        self.persist = persist
        self.connection = ibis.pyspark.connect(session)
        self._schemas: set[str] = set()
        self._views = 0

    @classmethod
    def open(cls, settings: Settings | None = None, *, persist: bool = True) -> SparkEngine:
        """Connect to the process's Spark session; ``persist=False`` keeps tables in memory only."""
        return cls(spark_session(settings.spark_master if settings else "local[2]"), persist=persist)

    @staticmethod
    def _view(schema: str, name: str) -> str:
        return f"{schema}__{name}"

    def _ensure_schema(self, schema: str) -> None:
        if schema not in self._schemas:
            self.session.sql(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
            self._schemas.add(schema)

    def _frame(self, data: pa.Table) -> Any:
        """A Spark DataFrame straight from Arrow (through pandas, missing strings would become 'NaN')."""
        with _quiet_pandas():
            if data.num_rows == 0:
                return self.session.createDataFrame([], schema=self._spark_schema(data))
            return self.session.createDataFrame(data)

    def _spark_schema(self, data: pa.Table) -> Any:
        from pyspark.sql.pandas.types import from_arrow_schema

        return from_arrow_schema(data.schema)

    def load(self, schema: str, name: str, data: pa.Table) -> None:
        if not self.persist:
            self._frame(data).cache().createOrReplaceTempView(self._view(schema, name))
            return
        self._ensure_schema(schema)
        self._frame(data).write.mode("overwrite").saveAsTable(f"`{schema}`.`{name}`")

    def table(self, schema: str, name: str) -> ir.Table:
        if not self.persist:
            return self.connection.table(self._view(schema, name))
        return self.connection.table(name, database=schema)

    def has_table(self, schema: str, name: str) -> bool:
        if not self.persist:
            return bool(self.session.catalog.tableExists(self._view(schema, name)))
        try:
            return name in self.connection.list_tables(database=schema)
        except Exception:  # the database itself does not exist yet
            return False

    def materialise(self, schema: str, name: str, expr: ir.Table) -> None:
        if not self.persist:
            self._materialise_in_memory(schema, name, expr)
            return
        self._ensure_schema(schema)
        try:
            # Spark cannot overwrite a table it is reading: collect first when the target is an input.
            self.connection.create_table(name, expr, database=schema, overwrite=True)
        except Exception as exc:
            raise WarehouseError(f"Spark failed building {schema}.{name}: {type(exc).__name__}") from exc

    def _materialise_in_memory(self, schema: str, name: str, expr: ir.Table) -> None:
        try:
            frame = self.session.sql(self.connection.compile(expr))
            # Checkpoint so a table that reads itself (incremental) is cut from its old lineage.
            frame.localCheckpoint(eager=True).createOrReplaceTempView(self._view(schema, name))
        except Exception as exc:
            raise WarehouseError(f"Spark failed building {schema}.{name}: {type(exc).__name__}") from exc

    def replace_person_rows(self, schema: str, name: str, person_ids: pa.Table, rows: ir.Table) -> None:
        # Plain Spark tables cannot delete rows: write the kept rows plus the new ones, then swap.
        current = self.table(schema, name)
        changed = self.memtable(person_ids)
        kept = current.anti_join(changed, "person_id")
        merged = ibis.union(kept, rows.select(*current.columns))
        staged = self.to_arrow(merged)
        self.load(schema, name, staged)

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        with _quiet_pandas():
            return self.connection.to_pyarrow(expr)

    def memtable(self, data: pa.Table) -> ir.Table:
        self._views += 1
        view = f"joinedup_input_{self._views}"
        self._frame(data).createOrReplaceTempView(view)
        return self.connection.table(view)

    def close(self) -> None:
        """Leave the shared session running for the rest of the process."""
