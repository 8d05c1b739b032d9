"""Atheris (coverage-guided) harness: FHIR R4 JSON/XML parsing and mapping (Bundles, lone resources).

Run: ``.venv/bin/python fuzz/fhir_harness.py fuzz/corpus/fhir -max_total_time=60``.
A crash is any exception other than ``FeedError``.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports(include=["joinedup.feeds"]):
    from joinedup.feeds import FeedError, FeedUnit
    from joinedup.feeds.fhir.adapter import FhirAdapter

ADAPTER = FhirAdapter()


def test_one_input(data: bytes) -> None:
    """Read ``data`` as one FHIR unit; only FeedError may escape."""
    with contextlib.suppress(FeedError):
        ADAPTER.read(FeedUnit("gp", "fhir", data, "1"))


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
