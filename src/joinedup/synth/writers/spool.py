"""Streaming people into files without holding the population.

Each person's records go to a spool on disk as soon as the person is drawn: *ordered* outputs
(monthly extracts, daily GP Bundles, HL7 streams) into one append-only spool per output and worker,
sorted only when the output is assembled, one file at a time; *direct* outputs (baseline export,
truth) into one part per chunk of people, concatenated in chunk order. Memory stays flat as the
population grows; the order of every output depends on the data only, never on the worker that
wrote it, so the same seed gives the same bytes.

A spool line is ``sort_key \\t faults \\t payload``; payloads never hold a newline.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

FAULT_SEPARATOR = "\x1f"


@dataclass(frozen=True, slots=True)
class FaultNote:
    """A fault carried by a record until its position in the output is known."""

    kind: str
    record_id: str
    origin: str = "injected"
    detail: str = ""

    def encode(self) -> str:
        """One spool field (no tabs, no newlines, no separators)."""
        return "|".join(_clean(x) for x in (self.kind, self.record_id, self.origin, self.detail))

    @staticmethod
    def decode(text: str) -> FaultNote:
        """Back from ``encode``."""
        kind, record_id, origin, detail = text.split("|", 3)
        return FaultNote(kind, record_id, origin, detail)


def _clean(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ").replace("|", "/").replace(FAULT_SEPARATOR, " ")


def _escape(output: str) -> str:
    return output.replace("/", "__")


def _allow_open_files(wanted: int) -> None:
    """Raise this process's soft limit on open files towards ``wanted`` (never above the hard limit)."""
    try:
        import resource
    except ImportError:  # not on POSIX: the default limit is usually generous there
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class Spool:
    """One worker's spool: open handles to its ordered spools, buffers of its current chunk."""

    def __init__(self, root: Path, worker: int) -> None:
        self.root = root
        self.worker = worker
        self._ordered: dict[str, IO[str]] = {}
        self._direct: dict[str, list[str]] = {}
        (root / "ordered").mkdir(parents=True, exist_ok=True)
        (root / "direct").mkdir(parents=True, exist_ok=True)
        _allow_open_files(4096)  # about nine spools a month of the period stay open


    def add(self, output: str, payload: str, sort_key: str, faults: tuple[FaultNote, ...] = ()) -> None:
        """Queue a record for an ordered output (sorted by ``sort_key`` when assembled)."""
        handle = self._ordered.get(output)
        if handle is None:
            path = self.root / "ordered" / f"{_escape(output)}.w{self.worker}"
            handle = open(path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115 - held open across chunks
            self._ordered[output] = handle
        handle.write(f"{sort_key}\t{_encode_faults(faults)}\t{payload}\n")

    def add_direct(self, output: str, payload: str, faults: tuple[FaultNote, ...] = ()) -> None:
        """Queue a record for a direct output (kept in person order)."""
        self._direct.setdefault(output, []).append(f"\t{_encode_faults(faults)}\t{payload}\n")

    def end_chunk(self, chunk: int) -> None:
        """Write the chunk's direct parts; the next chunk starts empty."""
        for output, lines in self._direct.items():
            folder = self.root / "direct" / _escape(output)
            folder.mkdir(exist_ok=True)
            (folder / f"{chunk:07d}").write_text("".join(lines), encoding="utf-8", newline="\n")
        self._direct = {}

    def close(self) -> None:
        """Close the ordered spools."""
        for handle in self._ordered.values():
            handle.close()
        self._ordered = {}


def _encode_faults(faults: tuple[FaultNote, ...]) -> str:
    return FAULT_SEPARATOR.join(f.encode() for f in faults)


@dataclass(frozen=True, slots=True)
class SpooledRecord:
    """A record read back from the spool."""

    sort_key: str
    faults: tuple[FaultNote, ...]
    payload: str


def _parse(line: str) -> SpooledRecord:
    key, faults, payload = line.rstrip("\n").split("\t", 2)
    notes = tuple(FaultNote.decode(f) for f in faults.split(FAULT_SEPARATOR)) if faults else ()
    return SpooledRecord(key, notes, payload)


def ordered_parts_of(root: Path, output: str, workers: int) -> list[Path]:
    """The spool files of one ordered output (one per worker that wrote to it), in worker order."""
    paths = (root / "ordered" / f"{_escape(output)}.w{w}" for w in range(workers))
    return [p for p in paths if p.exists()]


def read_ordered(parts: list[Path]) -> list[SpooledRecord]:
    """Every record of an ordered output, sorted by key (then payload, for full determinism)."""
    records: list[SpooledRecord] = []
    for part in parts:
        with open(part, encoding="utf-8", newline="\n") as handle:
            records.extend(_parse(line) for line in handle)
    records.sort(key=lambda r: (r.sort_key, r.payload))
    return records


def release_ordered(parts: list[Path]) -> None:
    """Delete an ordered output's spool files once it is written.

    Why: kept to the end, the spool and the outputs together need twice the borough's size on disk
    (about 50 GB each for 1,000,000 people); released as we go, the peak is the outputs alone.
    """
    for part in parts:
        part.unlink(missing_ok=True)


def release_direct(root: Path, output: str) -> None:
    """Delete a direct output's spool files once it is written (see ``release_ordered``)."""
    shutil.rmtree(root / "direct" / _escape(output), ignore_errors=True)


def read_direct(root: Path, output: str) -> Iterator[SpooledRecord]:
    """Every record of a direct output, chunk by chunk in order."""
    folder = root / "direct" / _escape(output)
    if not folder.is_dir():
        return
    for part in sorted(folder.iterdir()):
        with open(part, encoding="utf-8", newline="\n") as handle:
            for line in handle:
                yield _parse(line)


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """An output as the manifest lists it."""

    path: str
    sha256: str
    record_count: int


@dataclass(frozen=True, slots=True)
class FaultRow:
    """One row of truth/faults.csv."""

    file: str
    position: int
    note: FaultNote


def write_output(
    out: Path,
    output: str,
    records: Iterator[SpooledRecord] | list[SpooledRecord],
    *,
    header: str = "",
    separator: str = "\n",
    fault_rows: list[FaultRow],
) -> WrittenFile:
    """Write one output file from its records, in batches; note where each fault landed.

    The file is the header then each payload followed by ``separator``.
    """
    target = out / output
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    count = 0
    payloads: list[str] = []
    with open(target, "wb") as handle:

        def emit(text: str) -> None:
            data = text.encode("utf-8")
            digest.update(data)
            handle.write(data)

        for record in records:
            count += 1
            if record.faults:
                fault_rows.extend(FaultRow(output, count, note) for note in record.faults)
            payloads.append(record.payload)
            if len(payloads) >= 8192:
                emit((header if count == len(payloads) else "") + separator.join(payloads) + separator)
                payloads = []
        if payloads:
            emit((header if count == len(payloads) else "") + separator.join(payloads) + separator)
        elif count == 0:
            emit(header)
    return WrittenFile(output, digest.hexdigest(), count)


def write_grouped_lines(
    out: Path,
    output: str,
    groups: Iterable[tuple[list[SpooledRecord], Callable[[list[str]], str]]],
    *,
    fault_rows: list[FaultRow],
) -> WrittenFile:
    """Write one line per group of records (each group wrapped whole by its ``frame``, e.g. a Bundle).

    A fault's position is the line of the group its record is in; the record count is the records
    (the Bundles' entries), not the lines, so fault rates stay per source record.
    """
    target = out / output
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    count = 0
    with open(target, "wb") as handle:
        for line, (records, frame) in enumerate(groups, start=1):
            count += len(records)
            fault_rows.extend(FaultRow(output, line, note) for record in records for note in record.faults)
            data = frame([record.payload for record in records]).encode("utf-8")
            digest.update(data)
            handle.write(data)
    return WrittenFile(output, digest.hexdigest(), count)


def remove_spool(root: Path) -> None:
    """Delete the spool once every output is written."""
    shutil.rmtree(root, ignore_errors=True)
