"""The people look like an English borough: age structure, deprivation gradient, prevalence, and
NHS numbers that stay valid and unique beyond the 999 test block."""

from __future__ import annotations

import csv
import io
from datetime import date

from joinedup.synth import EconomySummary
from joinedup.synth.nhs_numbers import NhsNumberBook, is_valid


def _residents(economy: EconomySummary) -> list[dict[str, str]]:
    rows = csv.DictReader(io.StringIO((economy.out / "truth" / "persons.csv").read_text(encoding="utf-8")))
    return [r for r in rows if r["resident_from"] == economy.start_date.isoformat()]


def _age(birth: str, on: date) -> int:
    born = date.fromisoformat(birth)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_age_structure_is_a_boroughs(economy: EconomySummary) -> None:
    residents = _residents(economy)
    assert len(residents) == 800
    ages = [_age(r["birth_date"], economy.start_date) for r in residents]
    children = sum(a < 18 for a in ages) / len(ages)
    older = sum(a >= 65 for a in ages) / len(ages)
    oldest = sum(a >= 85 for a in ages) / len(ages)
    assert abs(children - 0.22) < 0.04
    assert abs(older - 0.185) < 0.04
    assert 0.01 < oldest < 0.045


def test_conditions_follow_age_and_deprivation(economy: EconomySummary) -> None:
    residents = _residents(economy)
    hypertension = sum("hypertension" in r["conditions"].split(";") for r in residents) / len(residents)
    assert 0.10 < hypertension < 0.22  # ~14% aimed at, by the end of the period
    older = [r for r in residents if _age(r["birth_date"], economy.start_date) >= 65]
    younger = [r for r in residents if _age(r["birth_date"], economy.start_date) < 45]
    def share(group: list[dict[str, str]], key: str) -> float:
        return sum(key in r["conditions"].split(";") for r in group) / len(group)

    assert share(older, "hypertension") > 5 * share(younger, "hypertension")
    assert int(sum(int(r["efi_deficit_count"]) for r in older) / len(older)) >= 3
    deprived = [r for r in residents if int(r["imd_decile"]) <= 3]
    affluent = [r for r in residents if int(r["imd_decile"]) >= 8]
    long_term = ("diabetes", "copd", "depression", "smi", "chd")
    assert sum(share(deprived, k) for k in long_term) > sum(share(affluent, k) for k in long_term)


def test_nhs_numbers_continue_validly_past_the_999_block() -> None:
    book = NhsNumberBook(seed=1)
    first = book.number_of(0)
    beyond = book.number_of(950_000)
    assert first.startswith("999")
    assert beyond.startswith("998")
    assert is_valid(first)
    assert is_valid(beyond)
    assert first != book.number_of(1)
