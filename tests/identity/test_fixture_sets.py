"""Linkage quality on labelled sets written by others (FEBRL; Splink's UK-flavoured fake 1,000).

Floors are set a little under the figures measured when these tests were written (reported in
docs/identity.md), so a regression shows while small engine differences do not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.identity.evaluate import pairwise_metrics
from joinedup.identity.model import ScoredPair, Scorer, Thresholds, records_table, train_model
from joinedup.identity.table import cluster_records, link_table, model_rows, parse_columns, read_table

FEBRL_COLUMNS = "first_name=given_name,surname=surname,dob=date_of_birth,postcode=postcode"


@pytest.fixture(scope="module")
def febrl2_scored(fixtures_dir: Path) -> tuple[list[dict[str, Any]], list[ScoredPair], list[str]]:
    """FEBRL dataset 2 (5,000 records) as model rows, its pairs scored once, and the true entities."""
    table = read_table(fixtures_dir / "linkage" / "dataset2.csv")
    rows = model_rows(table, parse_columns(FEBRL_COLUMNS))
    records = records_table(rows)
    pairs = Scorer(train_model(records)).score_within(records, min_weight=-2.0)
    # FEBRL's truth is in the record id: rec-<entity>-org / rec-<entity>-dup-<n>.
    entities = [rec_id.split("-")[1] for rec_id in table.column("rec_id").to_pylist()]
    return rows, pairs, entities


@pytest.mark.parametrize(
    ("upper", "precision_floor", "recall_floor"),
    [(Thresholds().upper, 0.995, 0.73), (0.0, 0.995, 0.95)],
)
def test_febrl_dataset2(
    febrl2_scored: tuple[list[dict[str, Any]], list[ScoredPair], list[str]],
    upper: float,
    precision_floor: float,
    recall_floor: float,
) -> None:
    rows, pairs, entities = febrl2_scored
    clusters, _ = cluster_records(rows, pairs, upper)
    metrics = pairwise_metrics(clusters, dict(enumerate(entities)))
    assert (metrics.records, metrics.true_pairs) == (5000, 1934)
    assert metrics.precision >= precision_floor
    assert metrics.recall >= recall_floor


def test_febrl_dataset1_through_link_table(fixtures_dir: Path) -> None:
    result = link_table(fixtures_dir / "linkage" / "dataset1.csv", parse_columns(FEBRL_COLUMNS))
    entities = [rec_id.split("-")[1] for rec_id in result.table.column("rec_id").to_pylist()]
    clusters = result.table.column("cluster_id").to_pylist()
    metrics = pairwise_metrics(dict(enumerate(clusters)), dict(enumerate(entities)))
    assert (metrics.records, metrics.true_pairs) == (1000, 500)
    assert metrics.precision >= 0.995
    assert metrics.recall >= 0.75


def test_cli_links_fake_1000_with_labels(fixtures_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "linked.csv"
    result = CliRunner().invoke(
        app,
        [
            "link",
            "--table", str(fixtures_dir / "linkage" / "splink-fake-1000" / "fake_1000.csv"),
            "--columns", "first_name=first_name,surname=surname,dob=dob",
            "--label", "cluster",
            "--upper", "0", "--lower", "-2",
            "--json",
            "--out", str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    evaluation = figures["evaluation"]
    assert (evaluation["records"], evaluation["true_persons"], evaluation["true_pairs"]) == (1000, 251, 2031)
    # Only names and date of birth are mapped (no email/city), and about half the true pairs share
    # neither a date of birth nor both names: recall is bounded well below 1 here.
    assert evaluation["precision"] >= 0.99
    assert evaluation["recall"] >= 0.40
    written = pacsv.read_csv(out)
    assert written.num_rows == 1000
    assert {"cluster_id", "match_weight", "match_evidence"} <= set(written.column_names)
    evidence = [text for text in written.column("match_evidence").to_pylist() if text]
    assert any("date of birth: the same (+" in text for text in evidence)


def test_cli_refuses_unknown_field(fixtures_dir: Path) -> None:
    result = CliRunner().invoke(
        app, ["link", "--table", str(fixtures_dir / "linkage" / "dataset1.csv"), "--columns", "forename=given_name"]
    )
    assert result.exit_code == 1
    assert "unknown field 'forename'" in result.output
