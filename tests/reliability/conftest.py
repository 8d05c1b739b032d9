"""Fixtures of the reliability tests: a migrated SQLite store file copied fresh for each use."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from joinedup.store import make_engine, upgrade_store


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store file, upgraded once for the run."""
    path = tmp_path_factory.mktemp("reliability-template") / "store.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_store(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def fresh_store(store_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Engine]:
    """``fresh_store()``: an engine on a new copy of the empty store (cheap enough per Hypothesis example)."""

    def make() -> Engine:
        path = tmp_path_factory.mktemp("store") / "store.sqlite"
        shutil.copyfile(store_template, path)
        return make_engine(f"sqlite:///{path}")

    return make
