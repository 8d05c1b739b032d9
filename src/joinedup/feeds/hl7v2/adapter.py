"""The HL7 v2 adapter: files split into messages; each message read with the fast reader and mapped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from joinedup.feeds._pipeline import FeedUnit
from joinedup.feeds.errors import FeedError, Problem
from joinedup.feeds.hl7v2.mapping import map_hl7
from joinedup.feeds.hl7v2.parse import Hl7Message, split_messages
from joinedup.feeds.mapped import MappedMessage


class Hl7v2Adapter:
    """HL7 v2.3–2.5.1 (later versions read the same way) ADT and ORU^R01; the message id is MSH-10."""

    format = "hl7v2"

    def read(self, unit: FeedUnit) -> MappedMessage:
        """Parse and map one message; a broken file envelope arrives as ``preparsed`` and is raised."""
        if isinstance(unit.preparsed, FeedError):
            raise unit.preparsed
        raw = unit.raw
        if unit.preparsed is None and raw.lstrip(b"\xef\xbb\xbf")[:3] in (b"FHS", b"BHS"):
            # A whole enveloped file (replayed from quarantine): it must now hold one good message.
            split = split_messages(raw)
            if split.envelope_error is not None:
                raise split.envelope_error
            if len(split.messages) != 1:
                raise FeedError([Problem("file", "malformed_envelope",
                                         "a file of several messages: ingest the corrected file instead")],
                                stage="parse")
            raw = split.messages[0][1]
        return map_hl7(Hl7Message(raw), unit.source)

    def units(self, data: bytes, path: Path) -> Iterator[tuple[str, bytes, Any]]:
        """The file's messages, or the whole file as one unit when its envelope is broken."""
        split = split_messages(data)
        if split.envelope_error is not None:
            yield "file", data, split.envelope_error
            return
        for position, raw in split.messages:
            yield position, raw, None
