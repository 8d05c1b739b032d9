"""Which adapter reads which format (``--format`` names, or what a file's name and bytes say)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from joinedup.feeds._pipeline import FeedUnit
from joinedup.feeds.errors import FeedError, Problem
from joinedup.feeds.fhir.adapter import FhirAdapter
from joinedup.feeds.mapped import MappedMessage
from joinedup.feeds.transports.files import FileAdapter, sniff_format

FORMATS = ("fhir", "hl7v2", "csv")


class UnreadableFile:
    """Stands in for an adapter when a file's format cannot be told: the file is quarantined whole."""

    format = "unknown"

    def read(self, unit: FeedUnit) -> MappedMessage:
        """Always refuse, with the reason."""
        raise FeedError([Problem("", "unknown_format", "not a format joinedup reads (FHIR, HL7 v2, CSV)")],
                        stage="parse")

    def units(self, data: bytes, path: Path) -> Iterator[tuple[str, bytes, None]]:
        """The whole file is one unit (an empty file has none)."""
        if data.strip():
            yield "1", data, None


def adapter_for_file(path: Path, head: bytes, format_name: str | None = None) -> FileAdapter:
    """The adapter for a file: the named format, or what its name and first bytes say."""
    chosen = format_name or sniff_format(path, head)
    if chosen == "unknown":
        return UnreadableFile()
    return adapter_for(chosen, path, head)


def adapter_for(format_name: str, path: Path | None = None, head: bytes = b"") -> FileAdapter:
    """The adapter for ``format_name`` (``csv:<layout>`` names a layout; plain ``csv`` picks by header)."""
    kind, _, layout = format_name.partition(":")
    if kind == "fhir":
        return FhirAdapter()
    if kind == "hl7v2":
        from joinedup.feeds.hl7v2.adapter import Hl7v2Adapter

        return Hl7v2Adapter()
    if kind == "csv":
        from joinedup.feeds.csv_extracts.adapter import adapter_for_extract

        return adapter_for_extract(layout or None, path, head)
    raise ValueError(f"unknown format {format_name!r}")
