"""The file transport: find feed files, tell their source and format, and take them in resumably.

A folder written by ``joinedup synth`` (it holds ``manifest.json``) names each file's source by
its first sub-folder (``gp``, ``hospital-pas``...); ``truth/`` and ``national-data-opt-out/`` are
never read (ground truth; the opt-out list belongs to governance) and ``reference/`` is loaded as
reference data. Each file is recorded in ``ingested_file``: a finished file is skipped next time
(incremental daily runs), an interrupted one resumes after its ``committed_count`` units.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from joinedup.feeds._pipeline import Adapter, FeedUnit, Pipeline, PreparedBatch, content_sha256
from joinedup.feeds._store_rows import table
from joinedup.store.tables import utc_now

logger = logging.getLogger(__name__)

NEVER_READ = frozenset({"truth", "national-data-opt-out"})
REFERENCE_FOLDER = "reference"
NOT_FEEDS = frozenset({"manifest.json", "license", "license.txt", "readme.md", "readme", "notice"})
BOM = b"\xef\xbb\xbf"
# A batch ends at ``batch_size`` units or at this many bytes of them, whichever comes first: one unit
# can be a whole Bundle (a practice's day Bundle from a real GP system can be ~0.4 MB), and a thousand
# of those parsed and mapped at once took gigabytes of memory.
BATCH_BYTES = 16 * 1024 * 1024


class FileAdapter(Adapter, Protocol):
    """An adapter that can also cut a file into units."""

    def units(self, data: bytes, path: Path) -> Iterator[tuple[str, bytes, Any]]:
        """``(position, raw, preparsed)`` for every unit of the file, in order."""
        ...


@dataclass(frozen=True, slots=True)
class FeedFile:
    """One file to take in, with the feed source it belongs to."""

    path: Path
    source: str
    # Folder-relative name (``hospital-pas/adt-2021-04.hl7``), for positions and messages.
    name: str


def _synth_root(path: Path) -> Path | None:
    for parent in [path, *path.parents][:5]:
        if (parent / "manifest.json").is_file():
            return parent
    return None


def _source_of(file: Path, given: Path) -> tuple[str, str]:
    root = _synth_root(file.parent)
    if root is not None:
        relative = file.relative_to(root)
        return relative.parts[0] if len(relative.parts) > 1 else root.name, relative.as_posix()
    if given.is_dir() and file.parent != given:
        relative = file.relative_to(given)
        return relative.parts[0], relative.as_posix()
    return file.parent.name or "files", file.name


def find_feed_files(paths: Iterable[Path], *, source: str | None = None) -> tuple[list[FeedFile], list[Path]]:
    """Every feed file under ``paths`` (sorted, so runs are repeatable) and the reference CSVs apart.

    Skips ground truth, the opt-out list, manifests, licences and hidden files.
    """
    feeds: list[FeedFile] = []
    references: list[Path] = []
    for given in paths:
        given = given.resolve()
        candidates = sorted(p for p in given.rglob("*") if p.is_file()) if given.is_dir() else [given]
        for file in candidates:
            relative_parts = file.relative_to(given).parts if given.is_dir() else (file.name,)
            if any(part.startswith(".") for part in relative_parts) or file.name.lower() in NOT_FEEDS:
                continue
            root = _synth_root(file.parent)
            folders = file.relative_to(root).parts[:-1] if root else relative_parts[:-1]
            if NEVER_READ.intersection(folders):
                continue
            if REFERENCE_FOLDER in folders[:1] and file.suffix.lower() == ".csv":
                references.append(file)
                continue
            feed_source, name = _source_of(file, given)
            feeds.append(FeedFile(file, source or feed_source, name))
    return feeds, references


def sniff_format(path: Path, head: bytes) -> str:
    """The format of a file from its name and first bytes: ``hl7v2``, ``fhir`` or ``csv``."""
    start = head.lstrip(BOM + b" \t\r\n")
    suffix = path.suffix.lower()
    if start[:4] in (b"MSH|", b"FHS|", b"BHS|") or suffix in (".hl7", ".er7"):
        return "hl7v2"
    if suffix in (".csv", ".jsonl"):
        return "csv"
    if suffix in (".json", ".ndjson", ".xml") or start[:1] in (b"{", b"<"):
        return "fhir"
    return "unknown"


@dataclass(slots=True)
class FileProgress:
    """This run's view of one file's ``ingested_file`` row."""

    feed_file: FeedFile
    content_sha256: str
    size_bytes: int
    # Units committed before this run (a resumed file starts after them).
    already_committed: int
    # Units this run has to take in.
    to_do: int
    # Indexes (within this run's units of the file) committed so far: a set, so a batch retried
    # unit by unit after a refused commit counts each unit once.
    committed: set[int] = field(default_factory=set)

    @property
    def committed_count(self) -> int:
        """Units of the file committed, all runs together."""
        return self.already_committed + len(self.committed)


class FileIngest:
    """Takes files in, in batches of units that may span several files, one transaction each.

    Each batch's transaction also writes every file's ``ingested_file`` row (``committed_count``,
    and ``done`` when all its units are in): a killed run resumes each file after what was
    committed, and a daily run skips finished files. Small files (a day's Bundle) share commits.
    """

    def __init__(
        self, session: Session, pipeline: Pipeline, *, batch_size: int = 1000, batch_bytes: int | None = None
    ) -> None:
        self.session = session
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.batch_bytes = BATCH_BYTES if batch_bytes is None else batch_bytes
        self.pending: list[FeedUnit] = []
        self.pending_bytes = 0
        # Files with nothing (left) to take in, to be marked done with the next transaction.
        self.finished: list[FileProgress] = []
        self.files_read = 0
        self.files_skipped = 0
        self._known: dict[str, dict[str, Any]] = {}
        self._known_sources: set[str] = set()
        self._in_flight: tuple[list[FeedUnit], PreparedBatch] | None = None

    def _stored(self, feed_file: FeedFile) -> dict[str, Any] | None:
        """The file's ``ingested_file`` row, from one query per source for the whole run."""
        if feed_file.source not in self._known_sources:
            ingested = table("ingested_file")
            query = select(ingested).where(ingested.c.source == feed_file.source)
            for row in self.session.execute(query).mappings():
                self._known[f"{row['source']}\0{row['file_path']}"] = dict(row)
            self._known_sources.add(feed_file.source)
        return self._known.get(f"{feed_file.source}\0{_stored_path(feed_file)}")

    def add(self, feed_file: FeedFile, adapter: FileAdapter, format_name: str) -> None:
        """Queue one file's units (flushing full batches as it goes); skip it if done unchanged."""
        data = feed_file.path.read_bytes()
        sha = content_sha256(data)
        stored = self._stored(feed_file)
        start = 0
        if stored is not None and stored["content_sha256"] == sha:
            if stored["status"] == "done":
                self.files_skipped += 1
                return
            start = stored["committed_count"]
        # A file that changed since (a producer rewrote it) is read again; dedupe keeps it exact.
        self.files_read += 1
        units = list(adapter.units(data, feed_file.path))[start:]
        progress = FileProgress(feed_file, sha, len(data), start, len(units))
        if not units:
            self.finished.append(progress)
        file_path = str(feed_file.path)
        for index, (position, raw, preparsed) in enumerate(units):
            self.pending.append(
                FeedUnit(feed_file.source, format_name, raw, position, file_path, preparsed,
                         adapter=adapter, origin=(progress, index))
            )
            self.pending_bytes += len(raw)
            if len(self.pending) >= self.batch_size or self.pending_bytes >= self.batch_bytes:
                self.flush()

    def flush(self) -> None:
        """Ingest what is queued, in one transaction.

        With worker processes, the batch is handed to them to read and the batch before it is
        stored meanwhile (batches still commit one at a time, in order); ``drain`` stores the last.
        """
        if not self.pending and not self.finished:
            return
        units, self.pending, self.pending_bytes = self.pending, [], 0
        prepared = self.pipeline.prepare(units[0].adapter, units) if units else None  # type: ignore[arg-type]
        self.drain()
        if prepared is not None:
            self._in_flight = (units, prepared)
        elif units:
            self.pipeline.ingest_batch(self.session, units[0].adapter, units,  # type: ignore[arg-type]
                                       on_commit=self._note_progress)
        else:
            self._note_progress(self.session, [])
            self.session.commit()

    def drain(self) -> None:
        """Store the batch the workers were reading, if any."""
        if self._in_flight is None:
            return
        units, prepared = self._in_flight
        self._in_flight = None
        self.pipeline.ingest_batch(self.session, units[0].adapter, units,  # type: ignore[arg-type]
                                   on_commit=self._note_progress, prepared=prepared)

    def _note_progress(self, session: Session, units: Sequence[FeedUnit]) -> None:
        touched: dict[int, FileProgress] = {id(progress): progress for progress in self.finished}
        self.finished = []
        for unit in units:
            progress, index = unit.origin
            progress.committed.add(index)
            touched[id(progress)] = progress
        now = utc_now()
        rows = []
        for progress in touched.values():
            done = len(progress.committed) >= progress.to_do
            rows.append({
                "source": progress.feed_file.source, "file_path": _stored_path(progress.feed_file),
                "content_sha256": progress.content_sha256, "size_bytes": progress.size_bytes,
                "committed_count": progress.committed_count, "status": "done" if done else "in_progress",
                "started_at": now, "finished_at": now if done else None,
            })
            if done:
                logger.info("file done: source %s, %d units", progress.feed_file.source, progress.committed_count)
        if not rows:
            return
        ingested = table("ingested_file")
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert(ingested) if dialect == "postgresql" else sqlite.insert(ingested)
        kept = ("content_sha256", "size_bytes", "committed_count", "status", "finished_at")
        statement = insert.on_conflict_do_update(
            index_elements=["source", "file_path"], set_={name: insert.excluded[name] for name in kept}
        )
        session.execute(statement, rows)


def _stored_path(feed_file: FeedFile) -> str:
    return str(feed_file.path)[-400:]
