"""Backups of the operational store on PostgreSQL: pg_dump, then pg_restore into a new database,
gives back the same records and an audit chain that still verifies (docs/deployment.md)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from joinedup.governance import create_user, record_audit, verify_audit_chain
from joinedup.model import system_actor
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory, unit_of_work
from joinedup.store.tables import Person, SourcePatient
from joinedup.store.tables.governance import AuditEntry

pytestmark = pytest.mark.postgresql


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump/pg_restore take it (no +psycopg driver part)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_pg_dump_and_restore_round_trip(postgres_database_url: str, tmp_path: Path) -> None:
    database_url = postgres_database_url
    assert shutil.which("pg_dump"), "PostgreSQL client tools are needed"
    assert shutil.which("pg_restore"), "PostgreSQL client tools are needed"
    settings = load_settings(home=tmp_path / "home")
    engine = make_engine(database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        for n in range(5):
            session.add(Person(person_id=f"p{n}"))
            session.add(SourcePatient(source="gp", local_id=f"L{n}", person_id=f"p{n}",
                                      birth_date=date(1950, 1, n + 1)))
        create_user(session, username="backup-check", password="a long enough password", role="analyst")
        for n in range(5):
            record_audit(session, actor=system_actor("test"), action="read", resource_type="patient", person_id=f"p{n}")
    engine.dispose()
    dump = tmp_path / "joinedup.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _libpq_url(database_url)],
                   check=True, timeout=120)
    restored_name = make_url(database_url).database + "_restored"
    admin = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{restored_name}"'))
    try:
        restored_url = make_url(database_url).set(database=restored_name)
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={_libpq_url(restored_url.render_as_string(False))}",
                        str(dump)], check=True, timeout=120)
        restored = make_engine(restored_url.render_as_string(hide_password=False))
        with make_session_factory(restored)() as session:
            assert session.scalar(select(func.count()).select_from(Person)) == 5
            assert session.scalar(select(func.count()).select_from(SourcePatient)) == 5
            assert session.scalar(select(func.count()).select_from(AuditEntry)) >= 5
            assert verify_audit_chain(session, settings=settings).ok
        restored.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)'))
        admin.dispose()
