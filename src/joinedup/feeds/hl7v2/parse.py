"""HL7 v2 bytes → messages: split files into messages, and a fast reader of the fields used.

Files may start with a byte-order mark, use ``\\r``, ``\\n`` or ``\\r\\n`` between segments, hold
messages back to back with no envelope, or wrap them in batch (BHS/BTS) and file (FHS/FTS)
envelopes; a broken envelope makes the whole file one quarantined unit (it may be cut short).

``Hl7Message`` is this package's own reader, about ten times faster than ``hl7.parse`` for the
segments ADT and ORU mapping reads; ``tests/feeds/test_hl7v2_parse.py`` proves it gives the same
values as python-hl7 on every fixture message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from joinedup.feeds.errors import FeedError, Problem, parse_error

BOM = b"\xef\xbb\xbf"
ENVELOPE = (b"FHS", b"BHS", b"BTS", b"FTS")


def _segments(data: bytes) -> list[bytes]:
    if data.startswith(BOM):
        data = data[len(BOM) :]
    data = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    return [segment for segment in data.split(b"\r") if segment.strip()]


@dataclass(slots=True)
class SplitFile:
    """A file cut into messages (position, bytes), or the reason its envelope is broken."""

    messages: list[tuple[str, bytes]]
    envelope_error: FeedError | None = None


def split_messages(data: bytes) -> SplitFile:
    """Cut a file into its messages (each starting at MSH), checking any batch/file envelope."""
    messages: list[list[bytes]] = []
    problems: list[Problem] = []
    in_file = in_batch = False
    batch_count = 0
    seen_message = False
    for segment in _segments(data):
        name = segment[:3]
        if name == b"MSH":
            messages.append([segment])
            batch_count += 1
            seen_message = True
            continue
        if name in ENVELOPE:
            if name == b"FHS":
                if in_file or seen_message:
                    problems.append(Problem("FHS", "malformed_envelope", "a file header where none may be"))
                in_file = True
            elif name == b"BHS":
                if in_batch:
                    problems.append(Problem("BHS", "malformed_envelope", "a batch header inside an open batch"))
                in_batch, batch_count = True, 0
            elif name == b"BTS":
                if not in_batch:
                    problems.append(Problem("BTS", "malformed_envelope", "a batch trailer with no batch header"))
                count = _field(segment, 1)
                if count.isdigit() and int(count) != batch_count:
                    problems.append(Problem("BTS-1", "malformed_envelope",
                                            "the batch count does not match the messages in the batch"))
                in_batch = False
            elif name == b"FTS":
                if not in_file:
                    problems.append(Problem("FTS", "malformed_envelope", "a file trailer with no file header"))
                in_file = False
            continue
        if not messages:
            problems.append(Problem(name.decode("ascii", "replace"), "malformed_message",
                                    "a segment before any MSH"))
            messages.append([segment])
            continue
        messages[-1].append(segment)
    if in_batch or in_file:
        problems.append(Problem("BTS" if in_batch else "FTS", "malformed_envelope",
                                "the envelope is not closed (the file may be cut short)"))
    units = [(str(index), b"\r".join(parts) + b"\r") for index, parts in enumerate(messages, start=1)]
    if any(problem.code == "malformed_envelope" for problem in problems):
        return SplitFile(units, FeedError(problems, stage="parse"))
    return SplitFile(units)


def _field(segment: bytes, number: int) -> str:
    parts = segment.split(b"|")
    return parts[number].decode("ascii", "replace") if len(parts) > number else ""


class Hl7Message:
    """One HL7 v2 message, read lazily: segments split at once, fields split when asked for.

    Field numbers follow HL7 (``MSH-9`` is the message type, ``PID-3`` the identifiers); for MSH,
    field 1 is the field separator itself, as the standard counts it.
    """

    __slots__ = ("_first", "_plain_alnum", "component", "escape", "field_sep", "repetition", "segments",
                 "subcomponent")

    def __init__(self, raw: bytes) -> None:
        if raw.startswith(BOM):
            raw = raw[len(BOM) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        text = text.replace("\r\n", "\r").replace("\n", "\r")
        if not text.startswith("MSH") or len(text) < 8:
            raise parse_error("MSH", "malformed_message", "does not start with an MSH segment")
        self.field_sep = text[3]
        encoding = text[4:8]
        self.component = encoding[0]
        self.repetition = encoding[1] if len(encoding) > 1 else "~"
        self.escape = encoding[2] if len(encoding) > 2 else "\\"
        self.subcomponent = encoding[3] if len(encoding) > 3 and encoding[3] != self.field_sep else "&"
        # With no letter or digit among the delimiters (always, in practice), an alphanumeric value
        # holds no separator or escape and is read as it is: the fast path of ``value``.
        self._plain_alnum = not any(
            char.isalnum() for char in (self.field_sep, self.component, self.repetition, self.escape, self.subcomponent)
        )
        self.segments: list[list[str]] = []
        for line in text.split("\r"):
            if not line.strip():
                continue
            fields = line.split(self.field_sep)
            if fields[0] == "MSH":
                # Count as HL7 does: MSH-1 is the separator, MSH-2 the encoding characters.
                fields = ["MSH", self.field_sep, *fields[1:]]
            self.segments.append(fields)
        self._first: dict[str, list[str]] = {}
        for fields in reversed(self.segments):
            self._first[fields[0]] = fields

    def segment(self, name: str) -> list[str] | None:
        """The first segment called ``name``, as its fields, or None."""
        return self._first.get(name)

    def all(self, name: str) -> Iterator[list[str]]:
        """Every segment called ``name``, in order."""
        for fields in self.segments:
            if fields[0] == name:
                yield fields

    def has(self, name: str) -> bool:
        """True when the message holds a segment called ``name``."""
        return self.segment(name) is not None

    def raw_field(self, fields: list[str] | None, number: int) -> str:
        """Field ``number`` of a segment as sent (escapes and separators kept); '' when absent."""
        if fields is None or number >= len(fields):
            return ""
        return fields[number]

    def repetitions(self, fields: list[str] | None, number: int) -> list[str]:
        """The repetitions of a field (raw)."""
        value = self.raw_field(fields, number)
        if not value:
            return []
        if fields is not None and fields[0] == "MSH" and number <= 2:
            return [value]
        return value.split(self.repetition)

    def value(self, fields: list[str] | None, number: int, component: int = 1, repetition: int = 1,
              subcomponent: int = 1) -> str:
        """One value (1-based field, component, repetition and subcomponent), unescaped; '' when absent."""
        # The hot path of every mapping: plain string work, no intermediate lists when not needed.
        if fields is None or number >= len(fields):
            return ""
        value = fields[number]
        if not value:
            return ""
        if component == 1 and repetition == 1 and subcomponent == 1 and self._plain_alnum and value.isalnum():
            return value
        if self.repetition in value and not (number <= 2 and fields[0] == "MSH"):
            reps = value.split(self.repetition)
            if len(reps) < repetition:
                return ""
            value = reps[repetition - 1]
        elif repetition > 1:
            return ""
        if self.component in value and not (number <= 2 and fields[0] == "MSH"):
            components = value.split(self.component)
            if len(components) < component:
                return ""
            value = components[component - 1]
        elif component > 1:
            return ""
        if self.subcomponent in value and not (number <= 2 and fields[0] == "MSH"):
            subcomponents = value.split(self.subcomponent)
            if len(subcomponents) < subcomponent:
                return ""
            value = subcomponents[subcomponent - 1]
        elif subcomponent > 1:
            return ""
        if value == '""':
            return ""
        return self.unescape(value) if self.escape in value else value

    def part(self, repetition: str, component: int = 1, subcomponent: int = 1) -> str:
        """Component ``component`` (and its subcomponent) of one repetition, unescaped."""
        components = repetition.split(self.component)
        if len(components) < component:
            return ""
        subcomponents = components[component - 1].split(self.subcomponent)
        if len(subcomponents) < subcomponent:
            return ""
        value = subcomponents[subcomponent - 1]
        # '""' is HL7's explicit null; it reads as empty here.
        return "" if value == '""' else self.unescape(value)

    def unescape(self, value: str) -> str:
        """Resolve HL7 escape sequences (``\\F\\`` ``\\S\\`` ``\\T\\`` ``\\R\\`` ``\\E\\`` ``\\Xhh\\``)."""
        escape = self.escape
        if escape not in value:
            return value
        out: list[str] = []
        index = 0
        while index < len(value):
            char = value[index]
            end = value.find(escape, index + 1) if char == escape else -1
            if end == -1:
                out.append(char)
                index += 1
                continue
            code = value[index + 1 : end]
            replacement = {
                "F": self.field_sep, "S": self.component, "T": self.subcomponent, "R": self.repetition,
                "E": escape,
            }.get(code)
            if replacement is None and code[:1] == "X" and len(code) > 1:
                try:
                    replacement = bytes.fromhex(code[1:]).decode("latin-1")
                except ValueError:
                    replacement = None
            if replacement is None and code in (".br", "H", "N"):
                replacement = "\n" if code == ".br" else ""
            if replacement is None:
                out.append(value[index : end + 1])
            else:
                out.append(replacement)
            index = end + 1
        return "".join(out)
