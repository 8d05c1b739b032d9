"""The quarantine: list what could not be accepted, correct it, and replay it through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from joinedup.feeds._pipeline import FeedUnit, IngestSummary, Pipeline
from joinedup.feeds._store_rows import table
from joinedup.feeds.csv_extracts.adapter import UnknownLayout
from joinedup.feeds.errors import FeedError, Problem
from joinedup.feeds.registry import UnreadableFile, adapter_for, adapter_for_file
from joinedup.store.tables import utc_now


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One quarantined unit, without its raw bytes (those stay in the store)."""

    quarantine_item_id: int
    source: str
    format: str
    file_path: str | None
    position: str | None
    stage: str
    reason_code: str
    reason: str
    status: str
    received_at: datetime


def list_quarantine(session: Session, *, status: str = "open", source: str | None = None) -> list[QuarantineEntry]:
    """Quarantined units (open ones by default), oldest first."""
    item = table("quarantine_item")
    query = select(*(column for column in item.c if column.name not in ("raw", "content_sha256",
                                                                         "source_message_id", "resolved_at")))
    query = query.where(item.c.status == status).order_by(item.c.quarantine_item_id)
    if source is not None:
        query = query.where(item.c.source == source)
    return [QuarantineEntry(**dict(row)) for row in session.execute(query).mappings()]


def correct_quarantine_item(session: Session, quarantine_item_id: int, raw: bytes) -> None:
    """Replace a quarantined unit's bytes with a corrected version (then replay it)."""
    item = table("quarantine_item")
    result = session.execute(
        update(item).where(item.c.quarantine_item_id == quarantine_item_id, item.c.status == "open").values(raw=raw)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise FeedError([Problem("quarantine_item_id", "not_open", "no open quarantine item with that id")])
    session.commit()


def replay_quarantine(session: Session, *, source: str | None = None, batch_size: int = 500) -> IngestSummary:
    """Run every open quarantine item through the pipeline again (after a fix to code, layout or bytes).

    Items that now go in are marked ``replayed``; the rest stay open with their new reason.
    """
    item = table("quarantine_item")
    query = select(item.c.quarantine_item_id, item.c.source, item.c.format, item.c.raw, item.c.position,
                   item.c.file_path).where(item.c.status == "open").order_by(item.c.quarantine_item_id)
    if source is not None:
        query = query.where(item.c.source == source)
    rows = session.execute(query).all()
    pipeline = Pipeline()
    by_format: dict[str, list[FeedUnit]] = {}
    for row in rows:
        unit = FeedUnit(row.source, row.format, row.raw, row.position, row.file_path,
                        quarantine_item_id=row.quarantine_item_id)
        by_format.setdefault(row.format, []).append(unit)
    for format_name, units in by_format.items():
        if format_name in ("unknown", "csv"):
            for unit in units:
                _replay_whole_file(session, pipeline, unit)
            continue
        adapter = adapter_for(format_name)
        for start in range(0, len(units), batch_size):
            pipeline.ingest_batch(session, adapter, units[start : start + batch_size])
    return pipeline.summary


def _replay_whole_file(session: Session, pipeline: Pipeline, unit: FeedUnit) -> None:
    """A file quarantined whole (no format or layout then): read it again as a file.

    If a layout (or format) now fits, its rows go in as units of their own and the item is closed;
    otherwise it stays open with its reason.
    """
    path = Path(unit.file_path or "quarantined")
    adapter = adapter_for_file(path, unit.raw[:4096])
    if isinstance(adapter, UnreadableFile | UnknownLayout):
        pipeline.ingest_batch(session, adapter, [unit])
        return
    units = [FeedUnit(unit.source, adapter.format, raw, position, unit.file_path, preparsed)
             for position, raw, preparsed in adapter.units(unit.raw, path)]
    item = table("quarantine_item")
    pipeline.ingest_batch(session, adapter, units)
    session.execute(
        update(item).where(item.c.quarantine_item_id == unit.quarantine_item_id)
        .values(status="replayed", resolved_at=utc_now())
    )
    session.commit()
    pipeline.summary.replayed += 1
