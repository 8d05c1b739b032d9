"""Atheris (coverage-guided) harness: HL7 v2 file splitting, the fast reader and ADT/ORU mapping.

Run: ``.venv/bin/python fuzz/hl7v2_harness.py fuzz/corpus/hl7v2 -max_total_time=60``
(``scripts/reliability atheris`` does, after writing the seed corpus). A crash is any exception
other than ``FeedError`` (the refusal with a reason that the pipeline quarantines).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["joinedup.feeds"]):
    from joinedup.feeds import FeedError, FeedUnit
    from joinedup.feeds.hl7v2.adapter import Hl7v2Adapter

ADAPTER = Hl7v2Adapter()


def test_one_input(data: bytes) -> None:
    """Split ``data`` as a file and read every message; only FeedError may escape."""
    for position, raw, preparsed in ADAPTER.units(data, Path("fuzz.hl7")):
        with contextlib.suppress(FeedError):
            ADAPTER.read(FeedUnit("hospital-pas", "hl7v2", raw, position, preparsed=preparsed))


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
