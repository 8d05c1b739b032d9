"""Shared fixtures: real stores on SQLite and PostgreSQL, fresh per test, and the fixture folder.

PostgreSQL: one throw-away database per test run (created here, dropped at the end), upgraded once;
each test runs inside an outer transaction that is rolled back, so tests stay independent.
SQLite: a fresh file per test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from fixture_paths import SHARED_FIXTURES
from joinedup.store import make_engine, upgrade_store

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = SHARED_FIXTURES
POSTGRES_ADMIN_URL = os.environ.get("JOINEDUP_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared folder of real material from other producers (../shared/fixtures)."""
    assert FIXTURES.is_dir(), f"shared fixtures not found at {FIXTURES}"
    return FIXTURES


def _create_postgres_database() -> str:
    name = f"joinedup_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def _drop_postgres_database(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _postgres_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """A throw-away PostgreSQL database for this run, upgraded to the current schema."""
    name = _create_postgres_database()
    engine = make_engine(_postgres_url(name))
    upgrade_store(engine)
    yield engine
    engine.dispose()
    _drop_postgres_database(name)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite store for one test, upgraded to the current schema."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    upgrade_store(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgresql)])
def store_engine(request: pytest.FixtureRequest) -> Engine:
    """The store on each engine in turn: the same test runs on SQLite and on PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    engine: Engine = request.getfixturevalue(name)
    return engine


def _session_in_rolled_back_transaction(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def session(store_engine: Engine) -> Iterator[Session]:
    """A session on the store (SQLite and PostgreSQL in turn); everything is undone afterwards.

    ``session.commit()`` inside the test commits a savepoint, so services that own their unit of
    work can be called as they are.
    """
    yield from _session_in_rolled_back_transaction(store_engine)


@pytest.fixture
def sqlite_session(sqlite_engine: Engine) -> Iterator[Session]:
    """A session on a fresh SQLite store, for logic that does not depend on the engine."""
    yield from _session_in_rolled_back_transaction(sqlite_engine)


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, upgraded, empty store (SQLite and PostgreSQL in turn).

    For tests that commit for real, open several sessions or start subprocesses.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
        engine = make_engine(url)
        upgrade_store(engine)
        engine.dispose()
        yield url
        return
    name = _create_postgres_database()
    url = _postgres_url(name)
    engine = make_engine(url)
    upgrade_store(engine)
    engine.dispose()
    yield url
    _drop_postgres_database(name)


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    """The URL of a fresh, upgraded PostgreSQL database, for PostgreSQL-only tests (backups, roles)."""
    name = _create_postgres_database()
    url = _postgres_url(name)
    engine = make_engine(url)
    upgrade_store(engine)
    engine.dispose()
    yield url
    _drop_postgres_database(name)
