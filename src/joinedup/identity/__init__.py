"""Identity: the master patient index that links each source system's patient to one person.

Public interface (see ``docs/identity.md``):

- ``check_nhs_number(raw)``: format, modulus-11 and placeholder check of an NHS number.
- ``link_new_source_patients(session, ids, *, settings=None)``: called by feeds inside the ingest
  transaction; links at once on a valid NHS number with a consistent date of birth, and (with
  ``settings`` and a trained model) scores the rest against the index.
- ``link_all`` / ``run_linkage``: the batch run behind ``joinedup link`` (trains the model when
  needed, links what is unlinked, optionally evaluates against ground truth).
- ``merge_persons`` / ``merge_source_patients`` (HL7 A40) / ``unmerge_person`` / ``link_history``.
- The review queue: ``open_review_items``, ``accept_review_item``, ``reject_review_item``; for a
  person at a screen, through governance: ``review_cases`` and ``decide_review_item``.
- ``link_table``: link any CSV/Parquet table of person records (``joinedup link --table``).
"""

from __future__ import annotations

from joinedup.identity.deterministic import LinkSummary, new_person_id
from joinedup.identity.errors import IdentityError
from joinedup.identity.evaluate import LinkageMetrics, pairwise_metrics
from joinedup.identity.link import link_new_source_patients
from joinedup.identity.merge import (
    MergeResult,
    link_history,
    merge_persons,
    merge_source_patients,
    unmerge_person,
)
from joinedup.identity.model import Thresholds
from joinedup.identity.nhs_number import NhsNumberCheck, check_nhs_number
from joinedup.identity.review import (
    FieldComparison,
    ReviewCase,
    ReviewItem,
    ReviewRecord,
    accept_review_item,
    count_open,
    decide_review_item,
    open_review_items,
    reject_review_item,
    review_cases,
)
from joinedup.identity.service import LinkReport, evaluate_store, link_all, run_linkage
from joinedup.identity.table import TableLinkResult, link_table

__all__ = [
    "FieldComparison",
    "IdentityError",
    "LinkReport",
    "LinkSummary",
    "LinkageMetrics",
    "MergeResult",
    "NhsNumberCheck",
    "ReviewCase",
    "ReviewItem",
    "ReviewRecord",
    "TableLinkResult",
    "Thresholds",
    "accept_review_item",
    "check_nhs_number",
    "count_open",
    "decide_review_item",
    "evaluate_store",
    "link_all",
    "link_history",
    "link_new_source_patients",
    "link_table",
    "merge_persons",
    "merge_source_patients",
    "new_person_id",
    "open_review_items",
    "pairwise_metrics",
    "reject_review_item",
    "review_cases",
    "run_linkage",
    "unmerge_person",
]
