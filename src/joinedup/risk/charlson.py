"""The Charlson comorbidity index from ICD-10 codes, by Quan's coding algorithm (Med Care 2005).

Weights: the ORIGINAL Charlson weights (Charlson et al., J Chronic Dis 1987) by default, because
LACE (van Walraven et al., CMAJ 2010) was derived with them; Quan's updated weights (Am J Epidemiol
2011) are available as ``weights="quan_2011"``. When a mild and a severe form of the same condition
are both coded, only the severe form counts (liver disease, diabetes, cancer), as in Quan's algorithm.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Literal

from joinedup.risk.codelists import charlson_codelist, normalise_icd10

CharlsonWeights = Literal["charlson_1987", "quan_2011"]

# (milder form, severe form): the milder one is dropped when both are present.
HIERARCHY = (
    ("mild_liver_disease", "moderate_or_severe_liver_disease"),
    ("diabetes_without_complication", "diabetes_with_complication"),
    ("any_malignancy", "metastatic_solid_tumour"),
)


@functools.cache
def _prefix_index() -> dict[str, str]:
    return {row.icd10_prefix: row.category for row in charlson_codelist()}


@functools.cache
def charlson_weights(weights: CharlsonWeights = "charlson_1987") -> dict[str, int]:
    """Points per Charlson condition under the chosen weight set."""
    return {
        row.category: row.weight_charlson_1987 if weights == "charlson_1987" else row.weight_quan_2011
        for row in charlson_codelist()
    }


def charlson_category(icd10_code: str) -> str | None:
    """The Charlson condition an ICD-10 code belongs to, or None."""
    code = normalise_icd10(icd10_code)
    index = _prefix_index()
    for length in (4, 3):
        if len(code) >= length and code[:length] in index:
            return index[code[:length]]
    return None


def apply_hierarchy(conditions: Iterable[str]) -> frozenset[str]:
    """Drop the milder form of a condition when its severe form is also present."""
    kept = set(conditions)
    for milder, severe in HIERARCHY:
        if severe in kept:
            kept.discard(milder)
    return frozenset(kept)


def charlson_conditions(icd10_codes: Iterable[str]) -> frozenset[str]:
    """The Charlson conditions shown by a set of ICD-10 codes, after the hierarchy rule."""
    found = {category for code in icd10_codes if (category := charlson_category(code))}
    return apply_hierarchy(found)


def charlson_index(icd10_codes: Iterable[str], weights: CharlsonWeights = "charlson_1987") -> int:
    """The Charlson comorbidity index: the sum of the weights of the conditions present."""
    table = charlson_weights(weights)
    return sum(table[condition] for condition in charlson_conditions(icd10_codes))
