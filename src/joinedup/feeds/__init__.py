"""Feeds: getting data IN — FHIR R4, HL7 v2 (files and MLLP), CSV/JSONL extracts — correctly.

Owns: one adapter per format (``fhir/``, ``hl7v2/``, ``csv_extracts/`` with a YAML layout per
source), the transports (``transports/files.py``, ``transports/mllp.py``) and the one pipeline
(``_pipeline.py``) that dedupes, maps, upserts source patients and record rows, writes outbox news,
marks the feed message and links new source patients, one transaction per batch; bad input goes to
the quarantine with a specific reason. May import ``model``, ``store`` and ``identity``.

Public interface:

- ``ingest_paths(session, paths, format_name=None, source=None)`` → ``IngestSummary``
- ``replay_quarantine(session, source=None)``, ``list_quarantine(...)``, ``correct_quarantine_item(...)``
- ``serve_mllp(sessions, host=..., port=..., source=...)`` (asyncio), ``MllpReceiver``
- ``FeedError`` / ``Problem``; ``IngestSummary``, ``UnitOutcome``
"""

from joinedup.feeds._pipeline import FeedUnit, IngestSummary, Pipeline, UnitOutcome
from joinedup.feeds.errors import FeedError, Problem
from joinedup.feeds.ingest import ingest_paths
from joinedup.feeds.quarantine import QuarantineEntry, correct_quarantine_item, list_quarantine, replay_quarantine
from joinedup.feeds.transports.mllp import MllpReceiver, build_ack, frame, serve_mllp

__all__ = [
    "FeedError",
    "FeedUnit",
    "IngestSummary",
    "MllpReceiver",
    "Pipeline",
    "Problem",
    "QuarantineEntry",
    "UnitOutcome",
    "build_ack",
    "correct_quarantine_item",
    "frame",
    "ingest_paths",
    "list_quarantine",
    "replay_quarantine",
    "serve_mllp",
]
