"""The operational store: SQLAlchemy 2 tables, sessions and Alembic migrations.

A SQLite file by default, PostgreSQL in production, the same code for both. May import
``joinedup.model`` only.
"""

from joinedup.store.census import count_store
from joinedup.store.faults import StoreFull, out_of_space_code, store_full
from joinedup.store.schema import check_store, current_revisions, known_revisions, upgrade_store
from joinedup.store.session import make_engine, make_session_factory, unit_of_work

__all__ = [
    "StoreFull",
    "check_store",
    "count_store",
    "current_revisions",
    "known_revisions",
    "make_engine",
    "make_session_factory",
    "out_of_space_code",
    "store_full",
    "unit_of_work",
    "upgrade_store",
]
