"""Fixtures of the feeds tests.

``sqlite_engine`` is overridden here (feeds tests only): the store is migrated once per run into a
template file and each test gets a fresh copy, which is what migrating an empty file gives, in a
fraction of the time. PostgreSQL and ``database_url`` come from ``tests/conftest.py`` unchanged.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from joinedup.store import make_engine, upgrade_store


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store file, upgraded to the current schema once for the whole run."""
    path = tmp_path_factory.mktemp("feeds-template") / "store.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_store(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_engine(tmp_path: Path, migrated_sqlite_template: Path) -> Iterator[Engine]:
    """A fresh SQLite store for one test (a copy of the migrated template)."""
    path = tmp_path / "store.sqlite"
    shutil.copyfile(migrated_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def feed_dir(tmp_path: Path) -> Path:
    """An empty folder laid out like `joinedup synth` output (it has a manifest)."""
    root = tmp_path / "borough"
    root.mkdir()
    (root / "manifest.json").write_text("{}")
    return root
