"""The extract adapter: CSV (and JSON Lines) rows read by a layout (``layouts/*.yaml``)."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from joinedup.feeds._pipeline import FeedUnit
from joinedup.feeds.csv_extracts.layouts import Layout, choose_layout, layout_named
from joinedup.feeds.csv_extracts.mapping import map_row
from joinedup.feeds.errors import FeedError, Problem, parse_error
from joinedup.feeds.mapped import MappedMessage


class ExtractAdapter:
    """Rows of one layout; each row is a unit whose message id is the layout's id plus a content hash.

    The raw bytes kept for a row are the row as JSON (column → text), so a quarantined row can be
    replayed on its own once its layout (or the row) is fixed.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.format = f"csv:{layout.name}"

    def read(self, unit: FeedUnit) -> MappedMessage:
        """Map one row (``preparsed`` holds it already when read from a file)."""
        if isinstance(unit.preparsed, FeedError):
            raise unit.preparsed
        row = unit.preparsed if isinstance(unit.preparsed, dict) else _load_row(unit.raw)
        sha = unit.content_sha256 or hashlib.sha256(unit.raw).hexdigest()
        return map_row(self.layout, row, unit.source, sha[:16])

    def units(self, data: bytes, path: Path) -> Iterator[tuple[str, bytes, Any]]:
        """Every data row of the file, numbered from 1 (the header is not counted)."""
        if self.layout.file_format == "jsonl":
            yield from _jsonl_rows(data)
            return
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace"), newline=""))
        number = 0
        try:
            header = next(reader, [])
            width = len(header)
            for number, values in enumerate(reader, start=1):
                if not values:
                    continue
                row = dict(zip(header, values, strict=False))
                raw = orjson.dumps(row)
                if len(values) != width:
                    error = FeedError([Problem(f"row {number}", "malformed_row",
                                               f"{len(values)} fields where the header has {width}")], stage="parse")
                    yield str(number), raw, error
                    continue
                yield str(number), raw, row
        except csv.Error as exc:
            # Found by fuzzing (tests/reliability): a field over the csv module's limit or broken quoting
            # used to abort the whole ingest run. The rest of the file becomes one quarantined unit.
            error = FeedError([Problem(f"row {number + 1}", "malformed_row",
                                       f"the file cannot be read as CSV from here ({exc})")], stage="parse")
            yield str(number + 1), data, error


def _load_row(raw: bytes) -> dict[str, Any]:
    try:
        row = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise parse_error("", "malformed_json", f"not valid JSON (at character {exc.pos})") from exc
    if not isinstance(row, dict):
        raise parse_error("", "malformed_json", "not a JSON object")
    return row


def _jsonl_rows(data: bytes) -> Iterator[tuple[str, bytes, Any]]:
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            yield str(number), line, _load_row(line)
        except FeedError as error:
            yield str(number), line, error


class UnknownLayout:
    """A CSV no layout describes: the file is quarantined whole, to be replayed once one is written."""

    format = "csv"

    def read(self, unit: FeedUnit) -> MappedMessage:
        """Refuse, naming why."""
        raise FeedError([Problem("header", "unknown_layout", "no layout file describes this file's columns")],
                        stage="parse")

    def units(self, data: bytes, path: Path) -> Iterator[tuple[str, bytes, Any]]:
        """The whole file as one unit (an empty file has none)."""
        if data.strip():
            yield "file", data, None


def adapter_for_extract(layout_name: str | None, path: Path | None, head: bytes) -> ExtractAdapter | UnknownLayout:
    """The adapter for a named layout, or for the layout a file's header fits."""
    if layout_name:
        layout = layout_named(layout_name)
        if layout is None:
            raise FeedError([Problem("--format", "unknown_layout", "no layout of that name")], stage="parse")
        return ExtractAdapter(layout)
    if path is not None and path.suffix.lower() == ".jsonl":
        first_line = head.split(b"\n", 1)[0]
        try:
            columns = list(orjson.loads(first_line))
        except (orjson.JSONDecodeError, TypeError):
            columns = []
    else:
        text = head.decode("utf-8-sig", errors="replace").splitlines()
        try:  # an empty or unreadable first line fits no layout (it used to abort the run: fuzzing)
            columns = next(csv.reader(io.StringIO(text[0])), []) if text else []
        except csv.Error:
            columns = []
    layout = choose_layout(columns, path.name if path else "")
    return ExtractAdapter(layout) if layout is not None else UnknownLayout()
