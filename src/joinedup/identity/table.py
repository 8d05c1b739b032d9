"""Linkage as a tool for analysts: link any CSV or Parquet table of person records.

Columns are mapped onto the model's fields (first_name, surname, dob, sex, postcode, nhs_number;
any may be left out). The table's own records train the model (unsupervised), pairs are scored,
and records joined by a pair at or above the upper threshold, or by the same valid NHS number,
share a cluster. The table is written back with ``cluster_id``, the best ``match_weight`` of each
record and its ``match_evidence`` in plain English. With a label column (the true cluster), the
pairwise precision, recall and F1 are reported.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from joinedup.errors import InvalidInput
from joinedup.identity import normalise
from joinedup.identity.cluster import UnionFind
from joinedup.identity.evaluate import LinkageMetrics, pairwise_metrics
from joinedup.identity.model import ScoredPair, Scorer, Thresholds, records_table, train_model
from joinedup.identity.nhs_number import check_nhs_number

logger = logging.getLogger(__name__)

FIELDS: Final = ("first_name", "surname", "dob", "sex", "postcode", "nhs_number")


def parse_columns(text: str) -> dict[str, str]:
    """``first_name=given,surname=family,...`` -> {model field: table column}."""
    mapping: dict[str, str] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise InvalidInput(f"--columns entry {part!r} is not FIELD=COLUMN")
        if key not in FIELDS:
            raise InvalidInput(f"unknown field {key!r} in --columns; known: {', '.join(FIELDS)}")
        mapping[key] = value
    if not mapping:
        raise InvalidInput("--columns maps no fields")
    return mapping


def read_table(path: Path) -> pa.Table:
    """A CSV (every column read as text, surrounding spaces stripped) or Parquet file."""
    if not path.exists():
        raise InvalidInput(f"no such file: {path}")
    if path.suffix.lower() in {".parquet", ".pq"}:
        return pq.read_table(path)
    with path.open("rb") as handle:
        header = handle.readline().decode("utf-8-sig")
    names = [name.strip() for name in header.rstrip("\r\n").split(",")]
    options = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True)
    read = pacsv.ReadOptions(column_names=names, skip_rows=1)
    table = pacsv.read_csv(path, read_options=read, convert_options=options)
    stripped = {name: [None if v is None else v.strip() for v in table.column(name).to_pylist()] for name in names}
    return pa.table(stripped)


@dataclass
class TableLinkResult:
    """The linked table and what it took."""

    table: pa.Table
    records: int
    clusters: int
    pairs_scored: int
    seconds: float
    thresholds: Thresholds
    metrics: LinkageMetrics | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Figures for ``--json``."""
        result: dict[str, Any] = {
            "records": self.records,
            "clusters": self.clusters,
            "pairs_scored": self.pairs_scored,
            "seconds": round(self.seconds, 2),
            "thresholds": {"upper": self.thresholds.upper, "lower": self.thresholds.lower},
        }
        if self.metrics is not None:
            result["evaluation"] = self.metrics.as_dict()
        return result


def _nhs_number(value: object) -> str | None:
    return check_nhs_number(None if value is None else str(value)).normalised


def model_rows(table: pa.Table, mapping: dict[str, str]) -> list[dict[str, Any]]:
    missing = [column for column in mapping.values() if column not in table.column_names]
    if missing:
        raise InvalidInput(f"column(s) not in the table: {', '.join(missing)}")
    columns = {key: table.column(column).to_pylist() for key, column in mapping.items()}
    cleaners = {
        "first_name": normalise.name,
        "surname": normalise.name,
        "dob": normalise.birth_date,
        "sex": normalise.sex,
        "postcode": normalise.postcode,
        "nhs_number": _nhs_number,
    }
    rows = []
    for position in range(table.num_rows):
        row: dict[str, Any] = dict.fromkeys(FIELDS)
        row["unique_id"] = position
        for key, values in columns.items():
            row[key] = cleaners[key](values[position])
        rows.append(row)
    return rows


def cluster_records(
    rows: list[dict[str, Any]], pairs: list[ScoredPair], upper: float
) -> tuple[dict[int, int], dict[int, ScoredPair]]:
    """Clusters (record -> smallest record id of its cluster) and each record's best pair."""
    groups = UnionFind(row["unique_id"] for row in rows)
    by_number: dict[str, int] = {}
    for row in rows:
        if row["nhs_number"]:
            groups.union(by_number.setdefault(row["nhs_number"], row["unique_id"]), row["unique_id"])
    best: dict[int, ScoredPair] = {}
    for pair in pairs:
        if pair.match_weight >= upper:
            groups.union(pair.left, pair.right)
        for record in (pair.left, pair.right):
            if record not in best or pair.match_weight > best[record].match_weight:
                best[record] = pair
    return {row["unique_id"]: int(groups.find(row["unique_id"])) for row in rows}, best  # type: ignore[call-overload]


def link_table(
    path: Path,
    mapping: dict[str, str],
    *,
    label: str | None = None,
    thresholds: Thresholds | None = None,
    out: Path | None = None,
) -> TableLinkResult:
    """Link the records of one table to each other; optionally write it back and evaluate."""
    started = time.perf_counter()
    chosen = thresholds or Thresholds()
    table = read_table(path)
    if label is not None and label not in table.column_names:
        raise InvalidInput(f"label column {label!r} is not in the table")
    rows = model_rows(table, mapping)
    records = records_table(rows)
    model = train_model(records, thresholds=chosen, names_alone=True)
    pairs = Scorer(model).score_within(records, min_weight=chosen.lower)
    clusters, best = cluster_records(rows, pairs, chosen.upper)
    ordered = [clusters[position] for position in range(table.num_rows)]
    weights = [best[p].match_weight if p in best else None for p in range(table.num_rows)]
    evidence = [best[p].explanation() if p in best else None for p in range(table.num_rows)]
    linked = table.append_column("cluster_id", pa.array(ordered, pa.int64()))
    linked = linked.append_column("match_weight", pa.array(weights, pa.float64()))
    linked = linked.append_column("match_evidence", pa.array(evidence, pa.string()))
    result = TableLinkResult(linked, table.num_rows, len(set(ordered)), len(pairs), 0.0, chosen)
    if label is not None:
        truth = table.column(label).to_pylist()
        result.metrics = pairwise_metrics(dict(enumerate(ordered)), dict(enumerate(truth)))
    if out is not None:
        write_table(linked, out)
    result.seconds = time.perf_counter() - started
    return result


def write_table(table: pa.Table, out: Path) -> None:
    """Write CSV or Parquet, chosen by the file's extension."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in {".parquet", ".pq"}:
        pq.write_table(table, out)
    else:
        pacsv.write_csv(table, out)
