"""The electronic Frailty Index (eFI) of Clegg et al. (Age and Ageing 2016;45:353-60).

The eFI is the share of 36 deficits a person has. Categories are decided on the deficit COUNT
(fit 0-4, mild 5-8, moderate 9-12, severe 13 or more), which is what the published cut-offs
0.12 / 0.24 / 0.36 mean on a 36-item index; comparing floats at 0.36 would misplace 13/36.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Literal

from joinedup.risk.codelists import EFI_DEFICIT_COUNT, efi_codelist, normalise_code_system, normalise_icd10

EfiCategory = Literal["fit", "mild", "moderate", "severe"]

POLYPHARMACY_MEDICINES = 5

# Upper deficit counts of each category (inclusive); severe is anything above 12.
_CATEGORY_LIMITS: tuple[tuple[int, EfiCategory], ...] = ((4, "fit"), (8, "mild"), (12, "moderate"))


def efi_category(deficit_count: int) -> EfiCategory:
    """The eFI category of a deficit count: fit 0-4, mild 5-8, moderate 9-12, severe >= 13."""
    if not 0 <= deficit_count <= EFI_DEFICIT_COUNT:
        raise ValueError(f"an eFI deficit count lies in 0..{EFI_DEFICIT_COUNT}, not {deficit_count}")
    for limit, category in _CATEGORY_LIMITS:
        if deficit_count <= limit:
            return category
    return "severe"


def efi_value(deficit_count: int) -> Fraction:
    """The eFI as an exact fraction of the 36 deficits (13 deficits → 13/36)."""
    return Fraction(deficit_count, EFI_DEFICIT_COUNT)


def efi_deficits(
    codes: Iterable[tuple[str, str]],
    *,
    distinct_medicines_12m: int = 0,
    social_care_12m: bool = False,
) -> frozenset[str]:
    """The eFI deficits a person has, from their coded record before the index date.

    Args:
        codes: ``(code_system, code)`` pairs from problem lists and diagnoses (any spelling of
            the system; ICD-10 with or without the dot).
        distinct_medicines_12m: different medicines issued in the 12 months before the index
            date (polypharmacy is 5 or more).
        social_care_12m: whether social care was in contact in those 12 months (requirement for care).
    """
    exact: dict[tuple[str, str], str] = {}
    icd10: dict[str, str] = {}
    for row in efi_codelist():
        if row.code_system == "icd10":
            icd10[row.code] = row.group
        elif row.code_system != "derived":
            exact[(row.code_system, row.code)] = row.group
    found: set[str] = set()
    for raw_system, raw_code in codes:
        system = normalise_code_system(raw_system)
        if system == "icd10":
            code = normalise_icd10(raw_code)
            for length in (3, 4, 5):
                if code[:length] in icd10 and len(code) >= length:
                    found.add(icd10[code[:length]])
        elif (system, raw_code.strip()) in exact:
            found.add(exact[(system, raw_code.strip())])
    if distinct_medicines_12m >= POLYPHARMACY_MEDICINES:
        found.add("polypharmacy")
    if social_care_12m:
        found.add("requirement_for_care")
    return frozenset(found)
