"""The fast HL7 v2 reader against python-hl7 on every fixture message, and file splitting."""

from __future__ import annotations

from pathlib import Path

import hl7
import pytest

from fixture_paths import SHARED_FIXTURES
from joinedup.feeds.hl7v2.parse import Hl7Message, split_messages

FIXTURES = SHARED_FIXTURES / "hl7v2"
HL7_FILES = sorted(FIXTURES.rglob("*.hl7"))

# Every field the ADT/ORU mapping reads (and MSH fields the ACK echoes).
FIELDS_USED = {
    "MSH": (3, 4, 5, 6, 7, 9, 10, 12),
    "EVN": (2, 6),
    "PID": (2, 3, 4, 5, 7, 8, 11, 13, 22, 29),
    "PD1": (3,),
    "PV1": (2, 3, 4, 6, 10, 19, 36, 37, 39, 44, 45),
    "MRG": (1,),
    "OBR": (3, 7),
    "OBX": (2, 3, 5, 6, 8, 14),
    "DG1": (3, 4),
    "AL1": (3, 5),
    "PR1": (3, 5),
}


def _library_value(message: hl7.Message, segment: str, occurrence: int, field: int, repetition: int,
                   component: int) -> str:
    try:
        value = message.extract_field(segment, occurrence, field, repetition, component, 1)
    except (IndexError, KeyError):
        return ""
    text = str(value)
    # HL7's explicit null '""' reads as empty in joinedup's reader (it means "no value").
    return "" if text == '""' else text


@pytest.mark.parametrize("path", HL7_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fast_reader_reads_what_python_hl7_reads(path: Path) -> None:
    split = split_messages(path.read_bytes())
    assert split.messages, "every fixture file holds at least one message"
    compared = 0
    for _, raw in split.messages:
        ours = Hl7Message(raw)
        theirs = hl7.parse(raw.decode("utf-8", errors="replace"))
        occurrences: dict[str, int] = {}
        for fields in ours.segments:
            name = fields[0]
            occurrences[name] = occurrences.get(name, 0) + 1
            for field in FIELDS_USED.get(name, ()):
                repetitions = max(1, len(ours.repetitions(fields, field)))
                for repetition in range(1, min(repetitions, 3) + 1):
                    for component in range(1, 11):
                        mine = ours.value(fields, field, component, repetition)
                        library = _library_value(theirs, name, occurrences[name], field, repetition, component)
                        assert mine == library, f"{name}-{field}.{repetition}.{component}"
                        compared += 1
    assert compared > 0


def test_back_to_back_messages_with_bom_split_on_msh() -> None:
    one = b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.4\rPID|1||X^^^R^MR\r"
    two = b"MSH|^~\\&|A|B|C|D|20240101||ADT^A03|2|P|2.4\nPID|1||X^^^R^MR\n"
    split = split_messages(b"\xef\xbb\xbf" + one + b"\n" + two)
    assert split.envelope_error is None
    assert [position for position, _ in split.messages] == ["1", "2"]
    assert [Hl7Message(raw).value(Hl7Message(raw).segment("MSH"), 10) for _, raw in split.messages] == ["1", "2"]


def test_batch_envelope_with_wrong_count_is_refused() -> None:
    message = b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.4\rPID|1||X^^^R^MR\r"
    good = split_messages(b"FHS|^~\\&\rBHS|^~\\&\r" + message + b"BTS|1\rFTS|1\r")
    assert good.envelope_error is None
    assert len(good.messages) == 1
    bad = split_messages(b"BHS|^~\\&\r" + message + message + b"BTS|3\r")
    assert bad.envelope_error is not None
    assert str(bad.envelope_error) == "BTS-1: the batch count does not match the messages in the batch"


def test_escapes_are_resolved() -> None:
    message = Hl7Message(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.4\rPID|1||X||O\\S\\BRIEN^A\\T\\B\r")
    pid = message.segment("PID")
    assert message.value(pid, 5, 1) == "O^BRIEN"
    assert message.value(pid, 5, 2) == "A&B"
