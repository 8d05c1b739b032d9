"""Keeping the store's schema current: upgrade on start, refuse a newer or foreign database."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DatabaseError, OperationalError

from joinedup.errors import StoreVersionError

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def _describe(engine: Engine) -> str:
    """Name the database without its password (file path or host/database)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}"
    return f"{url.get_backend_name()} database {url.database} on {url.host or 'local socket'}"


def current_revisions(engine: Engine) -> set[str]:
    """The migration revisions the database says it is at (empty for a new database).

    Raises:
        StoreVersionError: the file or server is not a database joinedup can read.
    """
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    except (DatabaseError, OperationalError) as exc:
        raise StoreVersionError(
            f"{_describe(engine)} is not a joinedup store (it is corrupt, foreign or unreachable): "
            f"{type(exc.orig).__name__}"
        ) from exc


def known_revisions() -> set[str]:
    """Every revision this version of joinedup knows."""
    script = ScriptDirectory.from_config(_alembic_config())
    return {revision.revision for revision in script.walk_revisions()}


def check_store(engine: Engine) -> set[str]:
    """Refuse a database written by a newer joinedup, or one that is not a joinedup store.

    Returns:
        The revisions the database is at.
    """
    revisions = current_revisions(engine)
    unknown = revisions - known_revisions()
    if unknown:
        raise StoreVersionError(
            f"{_describe(engine)} was written by a newer joinedup (schema revision "
            f"{', '.join(sorted(unknown))}); upgrade joinedup, it will not touch this database"
        )
    if not revisions:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
        if tables - {"alembic_version"}:
            raise StoreVersionError(
                f"{_describe(engine)} holds tables but no joinedup schema version; "
                "it is not a joinedup store"
            )
    return revisions


def upgrade_store(engine: Engine) -> list[str]:
    """Bring the store's schema up to date, after checking it is ours and not newer.

    Returns:
        The revisions applied by this call (empty when it was already current).
    """
    before = check_store(engine)
    script = ScriptDirectory.from_config(_alembic_config())
    # A branch's dependencies stop being listed as heads once dependents are applied, so compare
    # whole ancestries, not head lists.
    done = _ancestry(script, before)
    if known_revisions() <= done:
        return []
    logger.info("upgrading the store schema (%s)", _describe(engine))
    config = _alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    return sorted(_ancestry(script, current_revisions(engine)) - done)


def _ancestry(script: ScriptDirectory, heads: set[str]) -> set[str]:
    revisions: set[str] = set()
    for head in heads:
        for revision in script.iterate_revisions(head, "base"):
            revisions.add(revision.revision)
    return revisions
