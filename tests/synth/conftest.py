"""One synthetic borough per test session, shared read-only by the synth tests."""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from joinedup.synth import EconomySummary, generate_economy

PEOPLE = 800
YEARS = 3
SEED = 11
FAULT_RATE = 0.02


@pytest.fixture(scope="session")
def economy(tmp_path_factory: pytest.TempPathFactory) -> EconomySummary:
    """800 residents over 3 years with 2% faults."""
    out = tmp_path_factory.mktemp("borough")
    return generate_economy(out, people=PEOPLE, years=YEARS, seed=SEED, faults=FAULT_RATE)


@pytest.fixture(scope="session")
def faults_by_file(economy: EconomySummary) -> dict[str, dict[int, list[dict[str, str]]]]:
    """truth/faults.csv as file -> position -> fault rows."""
    found: dict[str, dict[int, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    with open(economy.out / "truth" / "faults.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            found[row["file"]][int(row["position"])].append(row)
    return found
