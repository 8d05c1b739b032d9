"""Fixtures: the hand-built borough (warehouse_borough.py) in a real store, and its warehouses.

Building a warehouse takes seconds, so the read-only mart tests share one store and one DuckDB
warehouse per test run; tests that change the store (incremental builds) make their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from warehouse_borough import build_borough_warehouse, write_borough

from joinedup.settings import Settings
from joinedup.store import make_engine, make_session_factory, upgrade_store
from joinedup.warehouse.engines.duckdb import DuckDBEngine


def make_borough_store(folder: Path) -> sessionmaker[Session]:
    """A fresh SQLite store in ``folder`` holding the hand-built borough."""
    engine = make_engine(f"sqlite:///{folder / 'store.sqlite'}")
    upgrade_store(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        write_borough(session)
    return factory


@pytest.fixture(scope="session")
def shared_borough(tmp_path_factory: pytest.TempPathFactory) -> sessionmaker[Session]:
    """One store with the borough, shared by the read-only tests of this run."""
    return make_borough_store(tmp_path_factory.mktemp("borough"))


@pytest.fixture
def borough_sessions(tmp_path: Path) -> sessionmaker[Session]:
    """A store of the test's own holding the borough (for tests that change it)."""
    return make_borough_store(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose home (and warehouse file) is a temporary folder."""
    return Settings(home=tmp_path / "home")


@pytest.fixture(scope="session")
def duckdb_warehouse(
    shared_borough: sessionmaker[Session], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DuckDBEngine]:
    """The borough built into an in-memory DuckDB warehouse once, reporting date 2024-12-31."""
    engine = DuckDBEngine.open(None)
    build_borough_warehouse(shared_borough, Settings(home=tmp_path_factory.mktemp("home")), engine)
    yield engine
    engine.close()
