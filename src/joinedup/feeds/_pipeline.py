"""The one ingest pipeline every format and transport goes through.

For a batch of units (messages, bundles, extract rows) as received:
dedupe on (source, source message id) and content hash → parse → map → upsert ``source_patient``
(NHS number checked, kept with its status) → upsert record rows → write ``outbox_event`` news →
mark ``feed_message`` → link new source patients → note file progress, all in ONE transaction.
A unit that fails becomes a ``quarantine_item`` (stage, reason code, specific reason with the field
path, raw bytes) and the loop goes on. Nothing here logs or raises patient identifiers.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import and_, literal, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from joinedup.errors import JoinedUpError
from joinedup.feeds._store_rows import fetch_stored, insert_rows, merge_row, table, touch_rows, upsert_rows
from joinedup.feeds.errors import FeedError, Problem
from joinedup.feeds.mapped import RECORD_TABLES, MappedMessage, PatientKey, RecordKey, RecordRow
from joinedup.identity import check_nhs_number, link_new_source_patients
from joinedup.store.faults import out_of_space_code, store_full
from joinedup.store.tables import utc_now

logger = logging.getLogger(__name__)

NHS_NUMBER_REASON_CODES = {
    "wrong_length": "nhs_number_wrong_length",
    "not_numeric": "nhs_number_not_numeric",
    "bad_check_digit": "nhs_number_check_digit",
    "placeholder": "nhs_number_placeholder",
}

# The largest unit (message, bundle, NDJSON line, extract row) the pipeline reads: anything bigger is
# quarantined unread (reason ``too_large``), so one hostile or broken unit cannot exhaust memory in
# the parsers. The MLLP listener refuses frames above the same size (docs/reliability.md).
MAX_UNIT_BYTES = 16 * 1024 * 1024

# Keys per table a first load remembers (to skip lookups) before it looks rows up as usual.
FIRST_LOAD_MAX_KEYS = 2_000_000


@dataclass(slots=True)
class FeedUnit:
    """One unit as received: a message, a bundle, an NDJSON line or an extract row.

    ``preparsed`` lets a file splitter hand over what it already decoded (a CSV row as a dict), so
    the bytes are not read twice; ``raw`` is always kept for quarantine and replay.
    """

    source: str
    format: str
    raw: bytes
    position: str | None = None
    file_path: str | None = None
    preparsed: Any = None
    # Set when the unit is a quarantined item being replayed.
    quarantine_item_id: int | None = None
    # The adapter for this unit when a batch mixes formats (files of several kinds in one run).
    adapter: Adapter | None = None
    # Opaque to the pipeline: what the transport needs back in ``on_commit`` (the file it came from).
    origin: Any = None
    # The hex SHA-256 of ``raw``, noted by the pipeline as it reads the unit (adapters reuse it).
    content_sha256: str | None = None


class Adapter(Protocol):
    """What the pipeline needs of a format: read one unit's bytes into a mapped message."""

    format: str

    def read(self, unit: FeedUnit) -> MappedMessage:
        """Parse and map one unit; raise ``FeedError`` naming every problem found."""
        ...


@dataclass(slots=True)
class UnitOutcome:
    """What happened to one unit (the MLLP listener turns it into an ACK)."""

    status: str  # accepted | updated | duplicate | quarantined
    message_id: str
    message_type: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    stage: str | None = None


@dataclass
class IngestSummary:
    """Counts of a run: read = accepted + duplicates + quarantined (updated is part of accepted)."""

    read: int = 0
    accepted: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    # Patients whose NHS number was kept with a status other than valid (accepted, not quarantined).
    nhs_number_flags: Counter[str] = field(default_factory=Counter)
    ignored_parts: int = 0
    files_read: int = 0
    files_skipped: int = 0
    reference_rows: int = 0
    replayed: int = 0

    @property
    def quarantined_count(self) -> int:
        """All units quarantined, whatever the reason."""
        return sum(self.quarantined.values())

    def count(self, outcome: UnitOutcome) -> None:
        """Add one unit's outcome."""
        self.read += 1
        if outcome.status == "duplicate":
            self.duplicates += 1
        elif outcome.status == "quarantined":
            self.quarantined[outcome.reason_code or "unknown"] += 1
        else:
            self.accepted += 1
            if outcome.status == "updated":
                self.updated += 1

    def as_dict(self) -> dict[str, Any]:
        """The summary for JSON output and logs (counts only)."""
        return {
            "read": self.read,
            "accepted": self.accepted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined_count,
            "quarantined_by_reason": dict(sorted(self.quarantined.items())),
            "nhs_number_flags": dict(sorted(self.nhs_number_flags.items())),
            "ignored_parts": self.ignored_parts,
            "files_read": self.files_read,
            "files_skipped": self.files_skipped,
            "reference_rows": self.reference_rows,
            "replayed": self.replayed,
        }


# Allocations between young-generation collections while ingesting (CPython's default is 700).
_GC_YOUNG_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_runs = [0]
_gc_saved: list[int] = []


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Collect garbage less often while a run ingests (restored after).

    A batch allocates hundreds of thousands of short-lived dicts and tuples, none in cycles, and
    with the default thresholds the cyclic collector ran every few hundred of them, rescanning the
    run's growing caches each time: about a fifth of the CPU. Objects alive before the run are
    moved out of the collector's sight (``gc.freeze``) for its length. Reference counting still
    frees everything at once; only cycles wait a little longer.
    """
    with _gc_lock:
        _gc_runs[0] += 1
        if _gc_runs[0] == 1:  # the first of overlapping runs (threads) saves and relaxes
            _gc_saved[:] = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_GC_YOUNG_THRESHOLD, _gc_saved[0]), 50, 100)
    try:
        yield
    finally:
        with _gc_lock:
            _gc_runs[0] -= 1
            if _gc_runs[0] == 0:  # the last one out restores
                gc.set_threshold(*_gc_saved)
                gc.unfreeze()


def content_sha256(raw: bytes) -> str:
    """The hex SHA-256 of a unit's bytes (the content half of deduplication)."""
    return hashlib.sha256(raw).hexdigest()


@dataclass(slots=True)
class _Read:
    unit: FeedUnit
    sha: str
    message: MappedMessage | None = None
    error: FeedError | None = None
    feed_message_id: int | None = None
    stored_status: str | None = None
    outcome: UnitOutcome | None = None
    patient_keys: set[PatientKey] | None = None

    def patients_named(self) -> set[PatientKey]:
        """Every patient the message names (computed once)."""
        if self.patient_keys is None:
            assert self.message is not None
            self.patient_keys = _patient_keys(self.message)
        return self.patient_keys

    @property
    def message_type(self) -> str | None:
        if self.message is not None:
            return self.message.message_type
        return self.error.message_type if self.error is not None else None

    @property
    def message_id(self) -> str:
        if self.message is not None:
            return self.message.message_id[:120]
        if self.error is not None and self.error.message_id:
            return self.error.message_id[:120]
        return f"sha256:{self.sha}"


def _read_unit(adapter: Adapter, unit: FeedUnit, max_bytes: int = MAX_UNIT_BYTES) -> _Read:
    unit.content_sha256 = content_sha256(unit.raw)
    read = _Read(unit=unit, sha=unit.content_sha256)
    if len(unit.raw) > max_bytes and not isinstance(unit.preparsed, FeedError):
        read.error = FeedError(
            [Problem("", "too_large", f"the unit is {len(unit.raw)} bytes, over the limit of {max_bytes} bytes")],
            stage="parse",
        )
        return read
    try:
        read.message = adapter.read(unit)
    except FeedError as exc:
        read.error = _without_frames(exc)
    except Exception as exc:
        # Only the exception's type: its text may quote the message.
        logger.warning("unreadable unit at %s of source %s (%s)", unit.position, unit.source, type(exc).__name__)
        from joinedup.feeds.errors import parse_error

        read.error = parse_error("", "unreadable", f"the message could not be read ({type(exc).__name__})")
    return read


def _without_frames(error: FeedError) -> FeedError:
    """The error, kept past its handling, without its tracebacks (and the chained errors' ones).

    A traceback holds its frames and they hold the batch being read: every quarantined unit kept
    its whole batch alive in a reference cycle, which the run's relaxed collector left for later
    (gigabytes by the end of a borough load).
    """
    chained: BaseException | None = error
    for _ in range(16):  # a chain of causes is short; the bound guards against a cycle in it
        if chained is None:
            break
        chained.__traceback__ = None
        chained = chained.__cause__ or chained.__context__
    return error


# (adapter, source, format, raw, position, file_path, preparsed) for a worker process to read.
_RemoteUnit = tuple[Any, str, str, bytes, str | None, str | None, Any]
# What a worker sends back: the content hash, the mapped message, or the error's parts.
_RemoteRead = tuple[str, MappedMessage | None, tuple[list[Problem], str, str | None, str | None] | None]


def _read_remote(items: list[_RemoteUnit], max_bytes: int) -> list[_RemoteRead]:
    """Parse and map units in a worker process (``FeedError`` does not pickle: its parts do)."""
    out: list[_RemoteRead] = []
    for adapter, source, format_name, raw, position, file_path, preparsed in items:
        read = _read_unit(adapter, FeedUnit(source, format_name, raw, position, file_path, preparsed), max_bytes)
        error = read.error
        parts = None if error is None else (error.problems, error.stage, error.message_id, error.message_type)
        out.append((read.sha, read.message, parts))
    return out


# Below this many units and bytes a batch is read in the process itself (a pool round trip costs more).
POOL_MIN_UNITS = 200
POOL_MIN_BYTES = 1024 * 1024


class PreparedBatch:
    """A batch whose units worker processes are reading while the store takes the batch before it."""

    def __init__(self, units: Sequence[FeedUnit], local: list[int], chunks: list[tuple[list[int], Any]]) -> None:
        self.units = units
        self.local = local
        self.chunks = chunks

    def reads(self, adapter: Adapter, max_bytes: int) -> list[_Read]:
        """Every unit's read, in order (waits for the workers)."""
        reads: list[_Read | None] = [None] * len(self.units)
        for index in self.local:
            unit = self.units[index]
            reads[index] = _read_unit(unit.adapter or adapter, unit, max_bytes)
        for indexes, future in self.chunks:
            for index, (sha, message, parts) in zip(indexes, future.result(), strict=True):
                read = _Read(unit=self.units[index], sha=sha, message=message)
                if parts is not None:
                    problems, stage, message_id, message_type = parts
                    read.error = FeedError(problems, stage=stage, message_id=message_id, message_type=message_type)
                reads[index] = read
        return [read for read in reads if read is not None]


class Pipeline:
    """Ingests batches of units into one store; keeps caches of known ids for the run."""

    def __init__(
        self, *, link: bool = True, max_unit_bytes: int = MAX_UNIT_BYTES, first_load: bool = False, workers: int = 0
    ) -> None:
        """``workers``: processes that parse and map batches ahead (``prepare``); the store stays one writer.

        ``first_load``: skip looking up stored rows in tables that were empty when the run began.

        Then only keys this run wrote can be in such a table, so a batch asks the store about those
        alone (on a first load into a new store, nothing). Meant for a run that is the store's only
        writer: another writer's row makes an insert fail on the table's unique key, the batch is
        taken again with every lookup, and the shortcut is dropped for the rest of the run.
        """
        self.link = link
        self.max_unit_bytes = max_unit_bytes
        self.summary = IngestSummary()
        self.first_load = first_load
        # Table name -> keys this run wrote into it, for tables empty at the start; None: look up all.
        self._fresh: dict[str, set[tuple[str, str]] | None] = {}
        self.workers = workers
        self._pool: Any = None
        # Source patient ids known to be stored (committed, or written in the open transaction).
        self._patient_ids: dict[PatientKey, int] = {}

    def prepare(self, adapter: Adapter, units: Sequence[FeedUnit]) -> PreparedBatch | None:
        """Start reading ``units`` in the worker processes; None when this pipeline has none (or few units)."""
        if self.workers <= 0:
            return None
        if len(units) < POOL_MIN_UNITS and sum(len(unit.raw) for unit in units) < POOL_MIN_BYTES:
            return None
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # A fresh interpreter per worker (no fork of a process that may hold threads and locks).
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        local = [index for index, unit in enumerate(units) if isinstance(unit.preparsed, FeedError)]
        remote = [index for index, unit in enumerate(units) if not isinstance(unit.preparsed, FeedError)]
        size = max(1, -(-len(remote) // (self.workers * 2)))
        chunks = []
        for start in range(0, len(remote), size):
            indexes = remote[start : start + size]
            items = [(units[i].adapter or adapter, units[i].source, units[i].format, units[i].raw, units[i].position,
                      units[i].file_path, units[i].preparsed) for i in indexes]
            chunks.append((indexes, self._pool.submit(_read_remote, items, self.max_unit_bytes)))
        return PreparedBatch(units, local, chunks)

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- public ---------------------------------------------------------------------------------

    def ingest_batch(
        self,
        session: Session,
        adapter: Adapter,
        units: Sequence[FeedUnit],
        *,
        on_commit: Callable[[Session, Sequence[FeedUnit]], None] | None = None,
        prepared: PreparedBatch | None = None,
    ) -> list[UnitOutcome]:
        """Ingest ``units`` in one transaction and commit; returns one outcome per unit, in order.

        ``prepared``: the same units, already being read by ``prepare``.

        ``on_commit(session, units)`` runs inside the transaction before the commit (file progress).
        A unit's own ``adapter``, when set, reads it instead of ``adapter``.
        If the store refuses the batch as a whole, each unit is retried alone so that one bad
        unit is quarantined (stage ``store``) and the rest still land.
        """
        if prepared is not None:
            reads = prepared.reads(adapter, self.max_unit_bytes)
        else:
            reads = [_read_unit(unit.adapter or adapter, unit, self.max_unit_bytes) for unit in units]
        # Counts noted while storing are taken back if the transaction is (so a retry counts once).
        noted = (Counter(self.summary.nhs_number_flags), self.summary.ignored_parts, self.summary.replayed)
        try:
            outcomes = self._store_batch(session, reads)
            if on_commit is not None:
                on_commit(session, units)
            session.commit()
        except (SQLAlchemyError, JoinedUpError) as exc:
            # The store (or identity linking, inside the same transaction) refused the batch.
            session.rollback()
            self.summary.nhs_number_flags, self.summary.ignored_parts, self.summary.replayed = noted
            if out_of_space_code(exc) is not None:
                # Not the messages' fault: retrying them alone or quarantining them would fail the
                # same way, or park messages that a re-run after freeing space should take in.
                self._patient_ids.clear()
                raise store_full(exc, doing=f"storing a batch of {len(units)} feed units") from exc
            # Ids noted in the refused transaction may not exist: forget them all.
            self._patient_ids.clear()
            if self.first_load:
                # Perhaps another writer's row that the shortcut did not look for: from now on every
                # lookup asks the store, starting with this batch again.
                self.first_load = False
                self._fresh.clear()
                return self.ingest_batch(session, adapter, units, on_commit=on_commit)
            if len(units) == 1:
                return [self._quarantine_alone(session, reads[0], exc, on_commit)]
            logger.warning("batch of %d refused by the store (%s); retrying one by one", len(units), type(exc).__name__)
            outcomes = []
            for unit in units:
                outcomes.extend(self.ingest_batch(session, adapter, [unit], on_commit=on_commit))
            return outcomes
        except BaseException:
            self._patient_ids.clear()  # the caller rolls back: what this transaction wrote is gone
            raise
        for outcome in outcomes:
            self.summary.count(outcome)
        return outcomes

    # -- one batch ------------------------------------------------------------------------------

    def _store_batch(self, session: Session, reads: list[_Read]) -> list[UnitOutcome]:
        to_store = self._dedupe(session, reads)
        self._write_feed_messages(session, to_store)
        good = [read for read in to_store if read.message is not None]
        bad = [read for read in to_store if read.message is None]
        self._quarantine(session, bad)
        if good:
            self._write_records(session, good)
        self._resolve_replayed(session, good)
        return [read.outcome for read in reads if read.outcome is not None]

    def _dedupe(self, session: Session, reads: list[_Read]) -> list[_Read]:
        feed_message = table("feed_message")
        stored = {
            (values["source"], values["source_message_id"]): values
            for values in self._fetch_stored(
                session,
                feed_message,
                ("source", "source_message_id"),
                {(read.unit.source, read.message_id) for read in reads},
                version_column="sent_at",
            ).values()
        }
        seen: set[tuple[str, str]] = set()
        to_store = []
        for read in reads:
            key = (read.unit.source, read.message_id)
            message_type = read.message_type
            previous = stored.get(key)
            replay = read.unit.quarantine_item_id is not None
            same = previous is not None and previous["content_sha256"] == read.sha
            if (key in seen and not replay) or (same and not replay):
                read.outcome = UnitOutcome("duplicate", read.message_id, message_type)
                continue
            if previous is not None and previous["status"] == "accepted" and not replay:
                # The same id for different content: not a resend, and not safe to apply blindly.
                renamed = f"{read.message_id[:100]}#{read.sha[:12]}"
                if read.message is not None:
                    read.message = None
                    read.error = FeedError(
                        [Problem("message id", "message_id_reused",
                                 "the id of an accepted message, with other content")],
                        message_id=renamed,
                        message_type=message_type,
                    )
                elif read.error is not None:
                    read.error.message_id = renamed
                key = (read.unit.source, read.message_id)
                if key in seen or _feed_message_exists(session, key):
                    read.outcome = UnitOutcome("duplicate", read.message_id, message_type)
                    continue
            seen.add(key)
            if previous is not None:
                read.feed_message_id = previous["feed_message_id"]
                read.stored_status = previous["status"]
            to_store.append(read)
        return to_store

    def _write_feed_messages(self, session: Session, reads: list[_Read]) -> None:
        feed_message = table("feed_message")
        now = utc_now()
        rows = []
        for read in reads:
            message = read.message
            rows.append(
                {
                    "source": read.unit.source,
                    "source_message_id": read.message_id,
                    "format": read.unit.format[:40],
                    "content_sha256": read.sha,
                    "file_path": _clip(read.unit.file_path, 400),
                    "position": _clip(read.unit.position, 40),
                    "message_type": _clip(read.message_type, 20),
                    "status": "accepted" if message is not None else "quarantined",
                    "received_at": now,
                    "sent_at": message.sent_at if message else None,
                    # Set when the id was stored before (quarantined, now re-sent): updated, not inserted.
                    "feed_message_id": read.feed_message_id,
                }
            )
        ids = upsert_rows(session, feed_message, ("source", "source_message_id"), "feed_message_id", rows)
        self._note_written("feed_message", ids)
        for read in reads:
            read.feed_message_id = ids[(read.unit.source, read.message_id)]

    def _quarantine(self, session: Session, reads: list[_Read]) -> None:
        if not reads:
            return
        quarantine = table("quarantine_item")
        now = utc_now()
        new_rows = []
        for read in reads:
            assert read.error is not None
            error = read.error
            read.outcome = UnitOutcome(
                "quarantined", read.message_id, error.message_type, error.reason_code, str(error), error.stage
            )
            values = {
                "stage": error.stage,
                "reason_code": error.reason_code[:60],
                "reason": str(error),
                "received_at": now,
            }
            if read.unit.quarantine_item_id is not None:
                session.execute(
                    update(quarantine)
                    .where(quarantine.c.quarantine_item_id == read.unit.quarantine_item_id)
                    .values(**values)
                )
                continue
            new_rows.append(
                {
                    **values,
                    "source": read.unit.source,
                    "source_message_id": read.message_id,
                    "format": read.unit.format[:40],
                    "file_path": _clip(read.unit.file_path, 400),
                    "position": _clip(read.unit.position, 40),
                    "raw": read.unit.raw,
                    "content_sha256": read.sha,
                    "status": "open",
                }
            )
        for read in reads:
            if read.unit.quarantine_item_id is not None or read.stored_status != "quarantined":
                continue
            # A resend of a quarantined message that fails again replaces the earlier item.
            session.execute(
                update(quarantine)
                .where(quarantine.c.source == read.unit.source, quarantine.c.source_message_id == read.message_id,
                       quarantine.c.status == "open")
                .values(status="discarded", resolved_at=now)
            )
        insert_rows(session, quarantine, new_rows)

    def _resolve_replayed(self, session: Session, good: list[_Read]) -> None:
        """Close the quarantine items of messages that now went in (replayed or re-sent fixed)."""
        quarantine = table("quarantine_item")
        now = utc_now()
        for read in good:
            if read.unit.quarantine_item_id is None and read.stored_status != "quarantined":
                continue
            condition = (
                quarantine.c.quarantine_item_id == read.unit.quarantine_item_id
                if read.unit.quarantine_item_id is not None
                else and_(
                    quarantine.c.source == read.unit.source,
                    quarantine.c.source_message_id == read.message_id,
                    quarantine.c.status == "open",
                )
            )
            session.execute(update(quarantine).where(condition).values(status="replayed", resolved_at=now))
            self.summary.replayed += 1

    # -- records --------------------------------------------------------------------------------

    def _write_records(self, session: Session, good: list[_Read]) -> None:
        patient_ids, new_patient_ids, known_patients = self._write_patients(session, good)
        # Messages (by position in ``good``) that changed a row already there (in the store or earlier in the batch).
        updated: set[int] = set()
        record_ids: dict[str, dict[RecordKey, int]] = {}
        by_table: dict[str, list[tuple[int, _Read, RecordRow]]] = {name: [] for name in RECORD_TABLES}
        for index, read in enumerate(good):
            assert read.message is not None
            for row in read.message.records:
                by_table[row.table].append((index, read, row))
        for table_name in RECORD_TABLES:
            record_ids[table_name] = self._write_table(
                session, table_name, by_table[table_name], patient_ids, record_ids.get("encounter", {}), updated
            )
        self._write_events(session, good, patient_ids, record_ids.get("encounter", {}))
        seen_patients = set(known_patients)
        for index, read in enumerate(good):
            message = read.message
            assert message is not None
            keys = read.patients_named()
            if not message.records and keys & seen_patients:
                updated.add(index)
            seen_patients |= keys
        for index, read in enumerate(good):
            message = read.message
            assert message is not None
            status = "updated" if index in updated else "accepted"
            read.outcome = UnitOutcome(status, read.message_id, message.message_type)
            self.summary.ignored_parts += message.ignored
        if self.link and new_patient_ids:
            link_new_source_patients(session, sorted(new_patient_ids))

    def _write_patients(
        self, session: Session, good: list[_Read]
    ) -> tuple[dict[PatientKey, int], set[int], set[PatientKey]]:
        source_patient = table("source_patient")
        named: set[PatientKey] = set()
        given: set[PatientKey] = set()
        for read in good:
            message = read.message
            assert message is not None
            named.update(read.patients_named())
            given.update((values["source"], values["local_id"]) for values in message.patients)
        # Patients only referenced (a Condition's subject) whose id this run already knows need no
        # lookup and no rewrite: their row is only touched (``updated_at``), as a rewrite would.
        referenced = {key: self._patient_ids[key] for key in named - given if key in self._patient_ids}
        keys = named - referenced.keys()
        stored = self._fetch_stored(
            session, source_patient, ("source", "local_id"), keys, version_column="source_updated_at"
        )
        known = set(stored) | referenced.keys()
        state: dict[PatientKey, dict[str, Any]] = dict(stored)
        for read in good:
            message = read.message
            assert message is not None
            for values in message.patients:
                key = (values["source"], values["local_id"])
                incoming = dict(values)
                if "nhs_number_given" in incoming:
                    self._check_nhs_number(incoming, message.nhs_number_paths.get(key))
                    _keep_better_nhs_number(state.get(key), incoming)
                state[key] = merge_row(state.get(key), incoming, message.sent_at)
            for key in read.patients_named():
                if key not in state and key not in referenced:
                    state[key] = merge_row(None, {"source": key[0], "local_id": key[1]}, None)
        rows = []
        for row in state.values():
            row["source_updated_at"] = row.get("_version_at")
            rows.append(row)
        ids = upsert_rows(session, source_patient, ("source", "local_id"), "source_patient_id", rows)
        touch_rows(session, source_patient, "source_patient_id", referenced.values())
        self._note_written("source_patient", ids)
        new_ids = {ids[key] for key in ids if key not in known}
        self._remember_patient_ids(ids)
        return {**ids, **referenced}, new_ids, known

    def _remember_patient_ids(self, ids: dict[PatientKey, int]) -> None:
        """Keep source patient ids for the run (forgotten when a transaction is rolled back)."""
        if len(self._patient_ids) + len(ids) > FIRST_LOAD_MAX_KEYS:
            self._patient_ids.clear()
        self._patient_ids.update(ids)

    def _check_nhs_number(self, values: dict[str, Any], path: str | None) -> None:
        given = values.get("nhs_number_given")
        check = _checked_nhs_number(given)
        values["nhs_number_given"] = _clip(check.digits or (given.strip() if given else None), 32)
        values["nhs_number"] = check.normalised
        values["nhs_number_status"] = check.status
        if check.status != "valid" and check.status != "missing":
            self.summary.nhs_number_flags[NHS_NUMBER_REASON_CODES.get(check.status, check.status)] += 1
            logger.debug("NHS number kept with status %s at %s", check.status, path or "patient")

    def _write_table(
        self,
        session: Session,
        table_name: str,
        incoming: list[tuple[int, _Read, RecordRow]],
        patient_ids: dict[PatientKey, int],
        encounter_ids: dict[RecordKey, int],
        updated: set[int],
    ) -> dict[RecordKey, int]:
        target = table(table_name)
        if not incoming:
            return {}
        stored = self._fetch_stored(
            session, target, ("source", "source_record_id"), {row.key for _, _, row in incoming}, version_column=None
        )
        missing_encounters = {
            row.encounter for _, _, row in incoming if row.encounter is not None and row.encounter not in encounter_ids
        }
        if table_name != "encounter" and missing_encounters:
            found = self._fetch_stored(session, table("encounter"), ("source", "source_record_id"),
                                       missing_encounters, version_column=None)
            encounter_ids = {**encounter_ids, **{key: values["encounter_id"] for key, values in found.items()}}
        state: dict[RecordKey, dict[str, Any]] = dict(stored)
        for index, read, row in incoming:
            assert read.message is not None
            key = row.key
            previous = state.get(key)
            if previous is None:
                # A new row (the commonest case): merging copies the values, the ids are set on the copy.
                merged = merge_row(None, row.values, read.message.sent_at)
                merged["source_patient_id"] = patient_ids[row.patient]
                merged["feed_message_id"] = read.feed_message_id
                if row.encounter is not None:
                    merged["encounter_id"] = encounter_ids.get(row.encounter)
                state[key] = merged
                continue
            updated.add(index)
            values = dict(row.values)
            values["source_patient_id"] = patient_ids[row.patient]
            values["feed_message_id"] = read.feed_message_id
            if row.encounter is not None:
                values["encounter_id"] = encounter_ids.get(row.encounter)
            state[key] = merge_row(previous, values, read.message.sent_at)
        id_column = next(column.name for column in target.primary_key.columns)
        ids = upsert_rows(session, target, ("source", "source_record_id"), id_column, list(state.values()),
                          want_ids=table_name == "encounter")
        self._note_written(table_name, state)
        return ids

    # -- first-load shortcut --------------------------------------------------------------------

    def _fetch_stored(
        self,
        session: Session,
        target: Any,
        key_columns: tuple[str, str],
        keys: set[tuple[str, str]],
        *,
        version_column: str | None,
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """``fetch_stored``, asking only about keys this run wrote when the table began empty."""
        written = self._written(session, target)
        if written is not None:
            keys = {key for key in keys if key in written}
            if not keys:
                return {}
        return fetch_stored(session, target, key_columns, keys, version_column=version_column)

    def _written(self, session: Session, target: Any) -> set[tuple[str, str]] | None:
        if not self.first_load:
            return None
        if target.name not in self._fresh:
            empty = session.execute(select(literal(1)).select_from(target).limit(1)).first() is None
            self._fresh[target.name] = set() if empty else None
        return self._fresh[target.name]

    def _note_written(self, table_name: str, keys: Iterable[tuple[str, str]]) -> None:
        written = self._fresh.get(table_name)
        if written is None:
            return
        written.update(keys)
        if len(written) > FIRST_LOAD_MAX_KEYS:
            # Past this many keys the memory is better spent elsewhere: look rows up as usual.
            self._fresh[table_name] = None

    def _write_events(
        self,
        session: Session,
        good: list[_Read],
        patient_ids: dict[PatientKey, int],
        encounter_ids: dict[RecordKey, int],
    ) -> None:
        rows = []
        now = utc_now()
        for read in good:
            assert read.message is not None
            for note in read.message.events:
                payload = dict(note.payload)
                payload.setdefault("feed_message_id", read.feed_message_id)
                encounter_key = payload.pop("encounter_key", None)
                if encounter_key is not None:
                    payload["encounter_id"] = encounter_ids.get((encounter_key[0], encounter_key[1]))
                if note.other_patient is not None:
                    payload["other_source_patient_id"] = patient_ids.get(note.other_patient)
                rows.append(
                    {
                        "kind": note.kind,
                        "source_patient_id": patient_ids.get(note.patient) if note.patient else None,
                        "payload": payload,
                        "occurred_at": note.occurred_at,
                        "created_at": now,
                    }
                )
        insert_rows(session, table("outbox_event"), rows)

    def _quarantine_alone(
        self,
        session: Session,
        read: _Read,
        exc: SQLAlchemyError | JoinedUpError,
        on_commit: Callable[[Session, Sequence[FeedUnit]], None] | None,
    ) -> UnitOutcome:
        """Keep a unit the store (or identity linking) refused in quarantine."""
        # The driver's text can hold SQL literals (patient data): keep only the error's class.
        kind = type(getattr(exc, "orig", None) or exc).__name__
        if isinstance(exc, SQLAlchemyError):
            problem = Problem("", "store_refused", f"the store refused the message ({kind})")
        else:
            problem = Problem("", "identity_refused", f"linking the patient failed ({kind})")
        read.error = FeedError([problem], stage="store" if isinstance(exc, SQLAlchemyError) else "identity")
        # Forget what the refused attempt noted (its outcome, its feed_message id): nothing of it was kept.
        read.message = None
        read.outcome = None
        read.feed_message_id = None
        read.stored_status = None
        read.patient_keys = None
        try:
            self._dedupe(session, [read])
            if read.outcome is None:
                self._write_feed_messages(session, [read])
                self._quarantine(session, [read])
            if on_commit is not None:
                on_commit(session, [read.unit])
            session.commit()
        except SQLAlchemyError:
            session.rollback()
            raise
        assert read.outcome is not None
        self.summary.count(read.outcome)
        return read.outcome


# The check is pure and every message about a patient repeats the number: verdicts are remembered.
_checked_nhs_number = lru_cache(maxsize=65_536)(check_nhs_number)


def _keep_better_nhs_number(stored: dict[str, Any] | None, incoming: dict[str, Any]) -> None:
    """Never let a message without a usable NHS number wipe one the source gave before.

    A valid number is replaced only by another valid one; "missing" never replaces a number that
    was given (right or wrong), so the status always describes the number kept.
    """
    status = incoming["nhs_number_status"]
    stored_status = (stored or {}).get("nhs_number_status")
    if status == "valid" or stored_status is None:
        return
    if stored_status == "valid" or status == "missing":
        for name in ("nhs_number_given", "nhs_number", "nhs_number_status"):
            incoming.pop(name, None)


def _patient_keys(message: MappedMessage) -> set[PatientKey]:
    keys = {(values["source"], values["local_id"]) for values in message.patients}
    for row in message.records:
        keys.add(row.patient)
    for note in message.events:
        if note.patient is not None:
            keys.add(note.patient)
        if note.other_patient is not None:
            keys.add(note.other_patient)
    return keys


def _feed_message_exists(session: Session, key: tuple[str, str]) -> bool:
    feed_message = table("feed_message")
    query = select(feed_message.c.feed_message_id).where(
        feed_message.c.source == key[0], feed_message.c.source_message_id == key[1]
    )
    return session.execute(query).first() is not None


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value is not None else None
