"""Real-shaped seed inputs for the fuzzers: the shared HL7 v2 and FHIR fixtures, and our own builders.

Shared with the Atheris harnesses in ``fuzz/`` (which write them out as their seed corpus).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from fixture_paths import SHARED_FIXTURES

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = SHARED_FIXTURES

# Small, hand-checkable extract rows in the sus-apc layout (test-range NHS numbers).
SUS_APC_CSV = (
    b"SUSSPELLID,LOPATID,NEWNHSNO,DOB,SEX,ETHNOS,POSTCODE,LSOA11,GPPRAC,ADMIDATE,ADMIMETH,DISDATE,PROCODE3,"
    b"MAINSPEF,DIAG_01,DISDEST,TARIFF_GBP,SPELDUR\r\n"
    b"SP0001,M0001,9990000018,1940-01-15,2,A,ZZ1 1ZZ,E01000001,Y00001,2024-01-10,21,2024-01-14,RZZ,300,"
    b"I500,19,2450.00,4\r\n"
    b"SP0002,M0002,,1950-06-01,1,A,ZZ1 2ZZ,E01000002,Y00001,2024-02-01,11,2024-02-02,RZZ,100,K358,19,900,1\r\n"
)


def _pas_seeds() -> tuple[bytes, ...]:
    from feeds.builders import adt

    messages = [
        adt("A01", "S1", "20240110083000", admit="20240110083000"),
        adt("A03", "S2", "20240114160000", admit="20240110083000", discharge="20240114160000"),
        adt("A04", "S3", "20240110100000", visit="AE1", patient_class="E", admit="20240110100000"),
        adt("A40", "S4", "20240110120000", visit="M0002^^^RZZ^MR"),
    ]
    return (*(message.encode() for message in messages), "\n".join(messages).encode())


# Synthetic PAS messages as `joinedup synth` writes them (admit, discharge, A&E, merge, and a file).
PAS_SEEDS = _pas_seeds()


@cache
def hl7_seeds(limit: int = 60) -> tuple[bytes, ...]:
    """HL7 v2 files from the shared fixtures (python-hl7 samples, Microsoft converter messages)."""
    files = sorted((FIXTURES / "hl7v2").rglob("*.hl7"))[:limit]
    return tuple(path.read_bytes()[:20_000] for path in files)


@cache
def fhir_seeds(limit: int = 60) -> tuple[bytes, ...]:
    """FHIR R4 JSON resources and bundles from the shared fixtures, small ones first."""
    files = sorted((FIXTURES / "fhir" / "r4-examples").glob("*.json"), key=lambda path: path.stat().st_size)
    return tuple(path.read_bytes() for path in files[:limit])


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail with TimeoutError if the block runs longer than ``seconds`` (a hang is a finding)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
