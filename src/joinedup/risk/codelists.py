"""The risk code lists, loaded from the versioned CSV files in ``codelists/`` (see its README).

Specifications are data: the eFI deficits, the Charlson ICD-10 algorithm and the lab codes live
in CSV files with their sources; this module reads them, checks them and normalises codes.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources

from joinedup.risk.errors import RiskError

CODELIST_VERSION = "2026.1"

EFI_DEFICIT_COUNT = 36

_SYSTEM_ALIASES = {
    "snomed": "snomed",
    "sct": "snomed",
    "snomedct": "snomed",
    "httpsnomedinfosct": "snomed",
    "icd10": "icd10",
    "httphl7orgfhirsidicd10": "icd10",
    "icd10uk": "icd10",
    "read": "read2",
    "readv2": "read2",
    "read2": "read2",
    "ctv2": "read2",
    "loinc": "loinc",
    "httploincorg": "loinc",
    "derived": "derived",
}


def normalise_code_system(raw: str | None) -> str:
    """The short name of a code system (snomed, icd10, read2, loinc), whatever spelling a feed used."""
    if not raw:
        return ""
    key = re.sub(r"[^a-z0-9]", "", raw.lower())
    if key in _SYSTEM_ALIASES:
        return _SYSTEM_ALIASES[key]
    if "snomed" in key:
        return "snomed"
    if "icd10" in key:
        return "icd10"
    if "loinc" in key:
        return "loinc"
    if "read" in key:
        return "read2"
    return key


def normalise_icd10(raw: str) -> str:
    """An ICD-10 code without dot, dash, padding or trailing filler ('I25.2' and 'I252X' → 'I252')."""
    code = re.sub(r"[^A-Z0-9]", "", raw.upper())
    return code.rstrip("X")[:5] if len(code) > 3 else code


@dataclass(frozen=True)
class CodeListRow:
    """One row of a code list: a concept that counts towards a named group."""

    group: str
    code: str
    code_system: str
    display: str


@dataclass(frozen=True)
class CharlsonRow:
    """One ICD-10 category of a Charlson condition, with both published weight sets."""

    category: str
    icd10_prefix: str
    weight_charlson_1987: int
    weight_quan_2011: int
    display: str


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("joinedup.risk").joinpath("codelists", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@functools.cache
def efi_codelist() -> tuple[CodeListRow, ...]:
    """The eFI deficit code list; checked to name exactly the 36 deficits of Clegg et al. 2016."""
    rows = tuple(
        CodeListRow(
            group=row["deficit"],
            code=normalise_icd10(row["code"]) if row["code_system"] == "icd10" else row["code"].strip(),
            code_system=normalise_code_system(row["code_system"]),
            display=row["display"],
        )
        for row in _read_csv("efi_deficits.csv")
    )
    deficits = {row.group for row in rows}
    if len(deficits) != EFI_DEFICIT_COUNT:
        raise RiskError(f"efi_deficits.csv names {len(deficits)} deficits; the eFI has {EFI_DEFICIT_COUNT}")
    return rows


@functools.cache
def efi_deficit_names() -> tuple[str, ...]:
    """The 36 deficit names, in a stable (alphabetical) order."""
    return tuple(sorted({row.group for row in efi_codelist()}))


@functools.cache
def charlson_codelist() -> tuple[CharlsonRow, ...]:
    """Quan's ICD-10 coding algorithm for the 17 Charlson conditions."""
    rows = tuple(
        CharlsonRow(
            category=row["category"],
            icd10_prefix=row["icd10_prefix"],
            weight_charlson_1987=int(row["weight_charlson_1987"]),
            weight_quan_2011=int(row["weight_quan_2011"]),
            display=row["display"],
        )
        for row in _read_csv("charlson_icd10.csv")
    )
    if len({row.category for row in rows}) != 17:
        raise RiskError("charlson_icd10.csv must name the 17 Charlson conditions")
    return rows


@functools.cache
def charlson_category_names() -> tuple[str, ...]:
    """The 17 Charlson conditions in the order Quan lists them."""
    return tuple(dict.fromkeys(row.category for row in charlson_codelist()))


@functools.cache
def long_term_condition_codelist() -> tuple[CodeListRow, ...]:
    """Extra long-term conditions used as features (cancer, depression, SMI, learning disability)."""
    return tuple(
        CodeListRow(
            group=row["condition"],
            code=normalise_icd10(row["code"]) if row["code_system"] == "icd10" else row["code"].strip(),
            code_system=normalise_code_system(row["code_system"]),
            display=row["display"],
        )
        for row in _read_csv("long_term_conditions.csv")
    )


@functools.cache
def long_term_condition_names() -> tuple[str, ...]:
    """The extra long-term conditions, alphabetical."""
    return tuple(sorted({row.group for row in long_term_condition_codelist()}))


@functools.cache
def lab_codelist() -> tuple[CodeListRow, ...]:
    """Codes of the lab measures used as features (HbA1c, eGFR)."""
    return tuple(
        CodeListRow(
            group=row["measure"],
            code=row["code"],
            code_system=normalise_code_system(row["code_system"]),
            display=row["display"],
        )
        for row in _read_csv("labs.csv")
    )
