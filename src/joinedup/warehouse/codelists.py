"""Every code list the marts match against, gathered from the marts' YAML files into one table.

The lists stay data (``marts/<mart>/*.yml``, each citing its source); the build loads them as
``core.codelist`` so marts match codes with joins, which every engine plans quickly, rather than
long chains of ``OR``. Columns: ``list_name`` (which list), ``group_name`` (register, care process,
condition...), ``code_family`` (snomed | icd10 | loinc | read2) and ``code`` (ICD-10 without its dot,
matched as a prefix of 3 or 4 characters; other systems exactly).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

MARTS_DIR = Path(__file__).parent / "marts"


def _load(relative: str) -> dict[str, Any]:
    with (MARTS_DIR / relative).open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def _rows(list_name: str, groups: dict[str, dict[str, list[str]]]) -> list[dict[str, str]]:
    rows = []
    for group, families in groups.items():
        for family, codes in families.items():
            for code in codes:
                text = str(code).strip()
                if family == "icd10":
                    text = text.replace(".", "").upper()
                rows.append({"list_name": list_name, "group_name": group, "code_family": family, "code": text})
    return rows


@cache
def codelist_table() -> pa.Table:
    """All code lists as one Arrow table (see the module docstring for its columns)."""
    registers = _load("registers/codelists.yml")
    cohorts = _load("cohorts/codelists.yml")
    acs = _load("outcomes/acs_icd10.yml")
    rows = [
        *_rows("register", registers["registers"]),
        *_rows("care_process", registers["care_processes"]),
        *_rows(
            "duplicate_test",
            {name: registers["care_processes"][name] for name in registers["duplicate_tests"]},
        ),
        *_rows("cohort_marker", {name: cohorts[name] for name in ("care_home", "housebound", "end_of_life")}),
        *_rows("acs", {name: {"icd10": codes} for name, codes in acs["conditions"].items()}),
    ]
    schema = pa.schema(
        [("list_name", pa.string()), ("group_name", pa.string()), ("code_family", pa.string()), ("code", pa.string())]
    )
    return pa.Table.from_pylist(rows, schema=schema)
