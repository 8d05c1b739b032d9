"""The marts: secondary-use tables built from the core layer, one folder per mart.

Each mart folder holds ``staging.py`` (the core columns it needs, opt-outs applied), ``rules.py``
(one small Ibis function per rule), ``final.py`` (the published tables, ``build_mart``) and
``contract.yml`` (grain and the meaning of every column; tests and docs read it). Only
``joinedup.warehouse.engines`` executes them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import ibis.expr.types as ir
import yaml

from joinedup.warehouse.errors import WarehouseInputError

# Build order: a mart may read the rules of one listed before it.
MARTS = ("activity", "outcomes", "registers", "cohorts")

MARTS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class MartInputs:
    """What a mart is built from: the core tables, who secondary use may include, the period.

    ``as_of`` is the reporting date (the end of the last complete period the marts describe);
    ``allowed`` is a one-column table of the ``person_id`` s governance lets secondary uses include.
    ``publish(name, expr)`` has the engine build the mart's table ``name`` now and returns it as a
    table to build on (steps are named ``<mart>__<step>``, published tables plainly); ``read(schema,
    name)`` gives a table an earlier mart published.
    """

    core: dict[str, ir.Table]
    allowed: ir.Table
    as_of: date
    publish: Publish
    read: Callable[[str, str], ir.Table]


class Publish(Protocol):
    """Build a mart's table now; returns the built table.

    ``by_person=True`` declares that every row has a ``person_id`` and depends only on that person's
    core rows, the reporting date and whether governance includes them. An incremental build may then
    replace only the changed persons' rows (see ``build._publisher``); declare it only when that holds.
    """

    def __call__(self, name: str, expr: ir.Table, *, by_person: bool = False) -> ir.Table: ...


class MartBuilder(Protocol):
    def __call__(self, inputs: MartInputs) -> None: ...


def mart_builder(name: str) -> MartBuilder:
    """The ``build_mart`` function of the named mart."""
    if name not in MARTS:
        raise WarehouseInputError(f"unknown mart {name!r}; marts are {', '.join(MARTS)}")
    module = importlib.import_module(f"joinedup.warehouse.marts.{name}.final")
    builder: MartBuilder = module.build_mart
    return builder


@cache
def mart_contract(name: str) -> dict[str, Any]:
    """The mart's ``contract.yml``: description, and per published table its grain and columns."""
    path = MARTS_DIR / name / "contract.yml"
    with path.open(encoding="utf-8") as handle:
        contract: dict[str, Any] = yaml.safe_load(handle)
    tables = contract.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise WarehouseInputError(f"mart contract {name}/contract.yml declares no tables")
    for table_name, table in tables.items():
        if "grain" not in table or not table.get("columns"):
            raise WarehouseInputError(f"mart contract {name}.{table_name} needs a grain and columns")
    return contract


__all__ = ["MARTS", "MartInputs", "Publish", "mart_builder", "mart_contract"]
