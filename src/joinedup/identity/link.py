"""Linking new source patients as they arrive (the entry point feeds calls)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session

from joinedup.identity.deterministic import LinkSummary, link_by_nhs_number
from joinedup.settings import Settings

logger = logging.getLogger(__name__)


def link_new_source_patients(
    session: Session, source_patient_ids: Iterable[int], *, settings: Settings | None = None
) -> LinkSummary:
    """Link newly stored source patients to persons, inside the caller's transaction (flush only).

    A valid NHS number with a consistent date of birth links at once (to the person holding that
    number, or a new person). The rest are scored against the index when ``settings`` is given and
    ``joinedup link`` has trained a model in its home: attached, given a new person, or queued for
    review. Otherwise they stay unlinked (``summary.unresolved``) until ``joinedup link`` runs.
    Person ids already given never change.
    """
    summary = link_by_nhs_number(session, source_patient_ids)
    if settings is not None and summary.unresolved:
        from joinedup.identity.service import link_incrementally

        summary = link_incrementally(session, settings, summary)
    return summary
