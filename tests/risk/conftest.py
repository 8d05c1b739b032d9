"""Risk fixtures: a generated borough with known latent risk in DuckDB, and a model trained on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from joinedup.risk.training import TrainingResult, train_risk_model

from .borough import BoroughTruth, make_borough

TRAIN_INDEX = date(2024, 1, 1)
VALIDATE_INDEX = date(2025, 1, 1)
BOROUGH_PEOPLE = 8000


@pytest.fixture(scope="session")
def borough() -> Iterator[tuple[duckdb.DuckDBPyConnection, BoroughTruth]]:
    """8,000 generated people, 2021-2025, in an in-memory warehouse."""
    con = duckdb.connect()
    truth = make_borough(con, people=BOROUGH_PEOPLE, seed=7)
    yield con, truth
    con.close()


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder shared by the session's trained model."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def trained(borough: tuple[duckdb.DuckDBPyConnection, BoroughTruth], models_dir: Path) -> TrainingResult:
    """The model trained at 2024-01-01 and validated at 2025-01-01 on the borough."""
    con, _ = borough
    return train_risk_model(con, models_dir=models_dir, train_index=TRAIN_INDEX, validate_index=VALIDATE_INDEX)
