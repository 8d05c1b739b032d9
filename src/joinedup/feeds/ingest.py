"""The ingest service: files and folders in, a summary out (what ``joinedup ingest`` calls)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from joinedup.feeds._pipeline import IngestSummary, Pipeline, relaxed_gc
from joinedup.feeds.errors import FeedError, Problem
from joinedup.feeds.reference import load_reference_file
from joinedup.feeds.registry import FORMATS, adapter_for_file
from joinedup.feeds.transports.files import FeedFile, FileAdapter, FileIngest, find_feed_files
from joinedup.store.faults import out_of_space_code, store_full

logger = logging.getLogger(__name__)

# Files adding up to this much are worth worker processes when ``workers`` is left to the run.
AUTO_WORKERS_BYTES = 64 * 1024 * 1024
MAX_AUTO_WORKERS = 4
# SQLite's page cache while a run ingests, in KiB (``PRAGMA cache_size`` is per connection).
INGEST_PAGE_CACHE_KIB = 256 * 1024


def ingest_paths(
    session: Session,
    paths: Sequence[Path],
    *,
    format_name: str | None = None,
    source: str | None = None,
    batch_size: int = 1000,
    link: bool = True,
    workers: int | None = 0,
) -> IngestSummary:
    """Ingest every feed file under ``paths`` into the store; returns the run's counts.

    Args:
        format_name: ``fhir``, ``hl7v2``, ``csv`` or ``csv:<layout>``; detected per file when None.
        source: the feed source for every file; by default the folder name (``gp``, ``hospital-pas``).
        batch_size: units per transaction.
        link: call identity's linking for new source patients (off only for benchmarks of the feed alone).
        workers: processes that parse and map the next batch while this one stores (0: all in this
            process; None: one per core, up to 4, when the files add up to ``AUTO_WORKERS_BYTES``
            or more, else 0). The outcome is the same either way.

    Raises:
        FeedError: when ``format_name`` is not a format joinedup knows (nothing is read then).
        StoreFull: the store ran out of space; the batch in hand was rolled back, batches and files
            committed before are kept, and a re-run after freeing space carries on from there.
    """
    if format_name is not None and format_name.split(":", 1)[0] not in FORMATS:
        raise FeedError([Problem("--format", "unknown_format", f"choose one of {', '.join(sorted(FORMATS))}")],
                        stage="parse")
    try:
        return _ingest_files(session, paths, format_name=format_name, source=source, batch_size=batch_size,
                             link=link, workers=workers)
    except SQLAlchemyError as exc:
        if out_of_space_code(exc) is None:
            raise
        session.rollback()
        raise store_full(exc, doing="ingesting feed files") from exc


def _ingest_files(
    session: Session, paths: Sequence[Path], *, format_name: str | None, source: str | None, batch_size: int,
    link: bool, workers: int | None,
) -> IngestSummary:
    files, references = find_feed_files(paths, source=source)
    if workers is None:
        workers = _workers_for(files)
    # A run of files is the store's one writer (the MLLP listener's pipeline does not use this).
    pipeline = Pipeline(link=link, first_load=True, workers=workers)
    for reference in references:
        pipeline.summary.reference_rows += load_reference_file(session, reference)
    run = FileIngest(session, pipeline, batch_size=batch_size)
    try:
        with relaxed_gc(), _larger_page_cache(session):
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


@contextmanager
def _larger_page_cache(session: Session) -> Iterator[None]:
    """SQLite: a larger page cache for the run (restored after).

    With SQLite's default 2 MB the indexes of a growing store were read back from the file over and
    over: a quarter of a borough load's CPU went to system calls. Costs memory only while it runs.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    before = session.execute(text("PRAGMA cache_size")).scalar()
    session.execute(text(f"PRAGMA cache_size=-{INGEST_PAGE_CACHE_KIB}"))
    try:
        yield
    finally:
        session.execute(text(f"PRAGMA cache_size={int(before or -2000)}"))


def _workers_for(files: Sequence[FeedFile]) -> int:
    """One worker process per core (up to 4) for a load large enough to repay starting them.

    A worker is a fresh interpreter (about a second of CPU to start); below ``AUTO_WORKERS_BYTES``
    a run is over before they would pay back.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2:
        return 0
    total = 0
    for feed_file in files:
        total += feed_file.path.stat().st_size
        if total >= AUTO_WORKERS_BYTES:
            return min(cores, MAX_AUTO_WORKERS)
    return 0


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
