"""The store's schema: migrations equal the tables, upgrades are idempotent, foreign files refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from joinedup.errors import StoreVersionError
from joinedup.store import check_store, current_revisions, known_revisions, make_engine, upgrade_store
from joinedup.store.tables import Base


def test_migrations_create_exactly_the_declared_tables(store_engine: Engine) -> None:
    with store_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_reaches_every_head_and_is_idempotent(store_engine: Engine) -> None:
    assert current_revisions(store_engine) <= known_revisions()
    assert upgrade_store(store_engine) == []


def test_a_newer_database_is_refused_untouched(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'newer.sqlite'}")
    upgrade_store(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('core_9999')"))
    with pytest.raises(StoreVersionError, match="newer joinedup"):
        upgrade_store(engine)
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == ["core_9999"]


def test_a_corrupt_file_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "not-a-database.sqlite"
    path.write_bytes(b"this is a spreadsheet, honestly\n" * 100)
    with pytest.raises(StoreVersionError, match=r"not-a-database\.sqlite is not a joinedup store"):
        check_store(make_engine(f"sqlite:///{path}"))


def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'foreign.sqlite'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    with pytest.raises(StoreVersionError, match="no joinedup schema version"):
        upgrade_store(engine)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'tuned.sqlite'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
