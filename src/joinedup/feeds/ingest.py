"""The ingest service: files and folders in, a summary out (what ``joinedup ingest`` calls)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from joinedup.feeds._pipeline import IngestSummary, Pipeline, relaxed_gc
from joinedup.feeds.errors import FeedError, Problem
from joinedup.feeds.reference import load_reference_file
from joinedup.feeds.registry import FORMATS, adapter_for_file
from joinedup.feeds.transports.files import FeedFile, FileAdapter, FileIngest, find_feed_files

logger = logging.getLogger(__name__)


def ingest_paths(
    session: Session,
    paths: Sequence[Path],
    *,
    format_name: str | None = None,
    source: str | None = None,
    batch_size: int = 1000,
    link: bool = True,
    workers: int = 0,
) -> IngestSummary:
    """Ingest every feed file under ``paths`` into the store; returns the run's counts.

    Args:
        format_name: ``fhir``, ``hl7v2``, ``csv`` or ``csv:<layout>``; detected per file when None.
        source: the feed source for every file; by default the folder name (``gp``, ``hospital-pas``).
        batch_size: units per transaction.
        link: call identity's linking for new source patients (off only for benchmarks of the feed alone).
        workers: processes that parse and map the next batch while this one stores (0: all in this
            process). Worth it for large loads on a machine with a spare core; the outcome is the same.

    Raises:
        FeedError: when ``format_name`` is not a format joinedup knows (nothing is read then).
    """
    if format_name is not None and format_name.split(":", 1)[0] not in FORMATS:
        raise FeedError([Problem("--format", "unknown_format", f"choose one of {', '.join(sorted(FORMATS))}")],
                        stage="parse")
    files, references = find_feed_files(paths, source=source)
    # A run of files is the store's one writer (the MLLP listener's pipeline does not use this).
    pipeline = Pipeline(link=link, first_load=True, workers=workers)
    for reference in references:
        pipeline.summary.reference_rows += load_reference_file(session, reference)
    run = FileIngest(session, pipeline, batch_size=batch_size)
    try:
        with relaxed_gc():
            for feed_file in files:
                adapter = _adapter_for_file(feed_file, format_name)
                run.add(feed_file, adapter, getattr(adapter, "format", "unknown"))
            run.flush()
            run.drain()
    finally:
        pipeline.close()
    pipeline.summary.files_read += run.files_read
    pipeline.summary.files_skipped += run.files_skipped
    _refresh_planner_statistics(session)
    return pipeline.summary


def _refresh_planner_statistics(session: Session) -> None:
    """SQLite: planner statistics after a bulk load (PostgreSQL's autovacuum keeps its own).

    Without them SQLite can walk a whole index where a lookup by patient was meant (an access
    check took over a second at 20,000 people: docs/web.md). ``analysis_limit`` samples each
    index, so this takes milliseconds at any size.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA analysis_limit=1000"))
        session.execute(text("ANALYZE"))


def _adapter_for_file(feed_file: FeedFile, format_name: str | None) -> FileAdapter:
    with feed_file.path.open("rb") as handle:
        head = handle.read(4096)
    return adapter_for_file(feed_file.path, head, format_name)
