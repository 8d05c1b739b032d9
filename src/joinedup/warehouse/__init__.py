"""The analytic warehouse: a core layer and marts built from the shared record, on DuckDB or Spark.

Owns: reading the operational store in batches (``extract``), the core layer (``core``: person,
encounter, diagnosis, observation, medication, person-month), the marts (``marts/<mart>/``) and the
engine adapters (``engines/``), which alone execute. Secondary-use marts include only the persons
``joinedup.governance.secondary_use_person_ids`` allows. May import ``store``, ``governance``,
``model``; never ``risk``, ``reporting``, ``web`` or ``cli``.
"""

from __future__ import annotations

from typing import Any

from joinedup.settings import Settings
from joinedup.warehouse.build import BuildReport, build_warehouse, engine_runs
from joinedup.warehouse.engines import ENGINES, WarehouseEngine, open_engine
from joinedup.warehouse.errors import WarehouseError, WarehouseInputError
from joinedup.warehouse.marts import MARTS, mart_contract


def open_warehouse(settings: Settings) -> Any:
    """An Ibis connection to the DuckDB warehouse file (read its tables as ``con.table(n, database=s)``).

    Raises:
        WarehouseError: the file cannot be opened (for example another process is writing it).
    """
    from joinedup.warehouse.engines.duckdb import DuckDBEngine

    return DuckDBEngine.open(settings.warehouse_path).connection


__all__ = [
    "ENGINES",
    "MARTS",
    "BuildReport",
    "WarehouseEngine",
    "WarehouseError",
    "WarehouseInputError",
    "build_warehouse",
    "engine_runs",
    "mart_contract",
    "open_engine",
    "open_warehouse",
]
