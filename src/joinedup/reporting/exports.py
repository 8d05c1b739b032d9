"""Exports of measures for use outside the system, with disclosure control applied first.

Counts go through governance's statistical disclosure control (``joinedup.governance.disclosure``):
numerators of 1 to 7 are suppressed (and the value derived from them), every other count is rounded
to the nearest 5. Formats: CSV and Parquet (Excel needs openpyxl, which joinedup does not install).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.governance.disclosure import SUPPRESSED_MARK, primary_suppressed, round_count
from joinedup.reporting.measures import MeasureResult
from joinedup.warehouse import WarehouseInputError

ExportFormat = Literal["csv", "parquet"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet")


@dataclass(frozen=True)
class ProtectedRow:
    """A measure row as it may leave the system: small numbers suppressed, counts rounded."""

    area: str
    numerator: int | None
    denominator: int | None
    value: float | None
    suppressed_flag: bool


def protect_measure(result: MeasureResult) -> list[ProtectedRow]:
    """Apply disclosure control to a measure's rows (suppress 1-7, round the rest to 5)."""
    protected = []
    for row in result.rows:
        numerator = round(row.numerator)
        denominator = round(row.denominator)
        small = primary_suppressed(numerator) or primary_suppressed(denominator)
        protected.append(
            ProtectedRow(
                area=row.area,
                numerator=None if small else round_count(numerator),
                denominator=None if small else round_count(denominator),
                value=None if small or row.value is None else round(row.value, 1),
                suppressed_flag=small,
            )
        )
    return protected


def export_measure(result: MeasureResult, path: Path, fmt: ExportFormat = "csv") -> int:
    """Write the disclosure-controlled rows to ``path`` as CSV or Parquet; returns rows written.

    Raises:
        WarehouseInputError: an unsupported format (xlsx needs openpyxl, not installed).
    """
    if fmt not in FORMATS:
        raise WarehouseInputError(f"export format {fmt!r} not supported; use {' or '.join(FORMATS)}")
    rows = protect_measure(result)
    columns: dict[str, list[object]] = {
        "measure": [result.measure.name] * len(rows),
        result.by: [row.area for row in rows],
        "numerator": [row.numerator for row in rows],
        "denominator": [row.denominator for row in rows],
        "value": [row.value for row in rows],
        "unit": [result.measure.unit] * len(rows),
        "suppressed_flag": [row.suppressed_flag for row in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(pa.table(columns), path)
        return len(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(columns))
        for index in range(len(rows)):
            writer.writerow(
                [
                    SUPPRESSED_MARK if values[index] is None and name in ("numerator", "denominator", "value")
                    else values[index]
                    for name, values in columns.items()
                ]
            )
    return len(rows)
