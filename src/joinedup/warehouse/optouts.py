"""The seam to governance's opt-out register: who secondary uses may include.

Every secondary-use mart filters its persons through ``joinedup.governance.secondary_use_person_ids``
(national data opt-out and any local objection, as of the build date). The warehouse never decides
this itself; if governance cannot answer, the build stops rather than publish unfiltered marts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from joinedup.warehouse.errors import WarehouseError

# The purpose every warehouse mart is built for (a secondary use of the record).
WAREHOUSE_PURPOSE = "population_health_management"

SecondaryUseResolver = Callable[[Session, str, date], set[str]]


def governance_secondary_use(session: Session, purpose: str, as_of: date) -> set[str]:
    """Ask governance which persons secondary uses for ``purpose`` may include on ``as_of``.

    Raises:
        WarehouseError: governance does not offer the check (the marts are not built unfiltered).
    """
    try:
        governance = importlib.import_module("joinedup.governance")
        check = governance.secondary_use_person_ids
    except (ImportError, AttributeError) as exc:
        raise WarehouseError(
            "cannot build secondary-use marts: joinedup.governance.secondary_use_person_ids is not "
            "available, so opt-outs could not be applied"
        ) from exc
    allowed: set[str] = set(check(session, purpose=purpose, as_of=as_of))
    return allowed
