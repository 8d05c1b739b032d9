"""Every table of the operational store, registered on one ``Base.metadata``.

Each area keeps its tables in a module of its own here (``identity``, ``record``, ``feeds``...)
and its schema changes in an Alembic branch named after it (``store/migrations/versions``).
Importing this package registers them all, which Alembic and the tests rely on.
"""

import importlib
import pkgutil

from joinedup.store.tables import feeds, identity, record, reference
from joinedup.store.tables.base import Base, utc_now
from joinedup.store.tables.feeds import FeedMessage, IngestedFile, OutboxCursor, OutboxEvent, QuarantineItem
from joinedup.store.tables.identity import Person, PersonLinkEvent, SourcePatient
from joinedup.store.tables.record import (
    Allergy,
    CareDocument,
    Condition,
    Encounter,
    Medication,
    Observation,
    Procedure,
)
from joinedup.store.tables.reference import Organisation, SmallArea

__all__ = [
    "Allergy",
    "Base",
    "CareDocument",
    "Condition",
    "Encounter",
    "FeedMessage",
    "IngestedFile",
    "Medication",
    "Observation",
    "Organisation",
    "OutboxCursor",
    "OutboxEvent",
    "Person",
    "PersonLinkEvent",
    "Procedure",
    "QuarantineItem",
    "SmallArea",
    "SourcePatient",
    "feeds",
    "identity",
    "record",
    "reference",
    "utc_now",
]


def _import_area_tables() -> None:
    """Register every area's table module (governance, coordination, risk...) on the metadata."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_import_area_tables()
