"""eFI, Charlson and LACE against the published definitions, with worked examples computed by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from joinedup.risk.charlson import charlson_conditions, charlson_index
from joinedup.risk.codelists import efi_deficit_names
from joinedup.risk.frailty import efi_category, efi_deficits, efi_value
from joinedup.risk.lace import LACE_MAXIMUM, lace_score, length_of_stay_points

CLEGG_2016_DEFICITS = {
    "activity_limitation", "anaemia_and_haematinic_deficiency", "arthritis", "atrial_fibrillation",
    "cerebrovascular_disease", "chronic_kidney_disease", "diabetes", "dizziness", "dyspnoea", "falls",
    "foot_problems", "fragility_fracture", "hearing_impairment", "heart_failure", "heart_valve_disease",
    "housebound", "hypertension", "hypotension_or_syncope", "ischaemic_heart_disease",
    "memory_and_cognitive_problems", "mobility_and_transfer_problems", "osteoporosis",
    "parkinsonism_and_tremor", "peptic_ulcer", "peripheral_vascular_disease", "polypharmacy",
    "requirement_for_care", "respiratory_disease", "skin_ulcer", "sleep_disturbance",
    "social_vulnerability", "thyroid_disease", "urinary_incontinence", "urinary_system_disease",
    "visual_impairment", "weight_loss_and_anorexia",
}


def test_code_list_names_the_36_deficits_of_clegg_2016() -> None:
    assert set(efi_deficit_names()) == CLEGG_2016_DEFICITS


@pytest.mark.parametrize(
    ("count", "category"),
    [
        (0, "fit"), (4, "fit"), (5, "mild"), (8, "mild"), (9, "moderate"), (12, "moderate"), (13, "severe"),
        (36, "severe"),
    ],
)
def test_efi_categories_follow_the_published_cut_offs_as_counts(count: int, category: str) -> None:
    # Clegg 2016: fit <= 0.12, mild <= 0.24, moderate <= 0.36, severe > 0.36; 13/36 = 0.3611.
    assert efi_category(count) == category


def test_thirteen_deficits_is_severe_although_the_float_rounds_to_0_36() -> None:
    assert efi_value(13) == Fraction(13, 36)
    assert round(float(efi_value(13)), 2) == 0.36
    assert efi_category(13) == "severe"


def test_efi_worked_example_from_mixed_code_systems() -> None:
    # A person with AF (SNOMED), heart failure (Read v2), hypertension (FHIR SNOMED URI), a hip
    # fracture coded in hospital (ICD-10 S72.0x), osteoporosis twice (counts once), 6 medicines and
    # social care: 7 deficits → 7/36 → mild.
    codes = [
        ("snomed", "49436004"),
        ("Read v2", "G58.."),
        ("http://snomed.info/sct", "38341003"),
        ("ICD-10", "S72.01"),
        ("snomed", "64859006"),
        ("icd10", "M81.0"),
        ("snomed", "999999999"),
    ]
    deficits = efi_deficits(codes, distinct_medicines_12m=6, social_care_12m=True)
    assert deficits == {
        "atrial_fibrillation", "heart_failure", "hypertension", "fragility_fracture", "osteoporosis",
        "polypharmacy", "requirement_for_care",
    }
    assert efi_category(len(deficits)) == "mild"


def test_polypharmacy_starts_at_five_different_medicines() -> None:
    assert "polypharmacy" not in efi_deficits([], distinct_medicines_12m=4)
    assert "polypharmacy" in efi_deficits([], distinct_medicines_12m=5)


def test_charlson_worked_example_with_the_hierarchy_rule() -> None:
    # MI (I21.9: 1), CHF (I50.0: 1), diabetes with (E11.2: 2) and without (E11.9, dropped)
    # complication, lung cancer (C34.1, dropped) with metastases (C78.0: 6), basal cell skin cancer
    # (C44, not a Charlson malignancy). Original weights: 1 + 1 + 2 + 6 = 10. Quan 2011: 0+2+1+6 = 9.
    codes = ["I21.9", "I50.0", "E11.2", "E11.9", "C34.1", "C78.0", "C44.3"]
    assert charlson_conditions(codes) == {
        "myocardial_infarction", "congestive_heart_failure", "diabetes_with_complication", "metastatic_solid_tumour",
    }
    assert charlson_index(codes) == 10
    assert charlson_index(codes, weights="quan_2011") == 9


def test_charlson_four_character_categories_are_not_matched_by_their_three_character_parent() -> None:
    # I25.2 (old MI) is myocardial infarction; I25.1 (atherosclerotic heart disease) is not a Charlson condition.
    assert charlson_conditions(["I25.2"]) == {"myocardial_infarction"}
    assert charlson_conditions(["I25.1"]) == frozenset()
    assert charlson_index(["N18.4", "K70.4", "K70.3"]) == 2 + 3


@pytest.mark.parametrize(
    ("days", "points"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (6, 4), (7, 5), (13, 5), (14, 7), (60, 7)]
)
def test_lace_length_of_stay_points_as_published(days: int, points: int) -> None:
    assert length_of_stay_points(days) == points


def test_lace_worked_examples() -> None:
    # 5-day emergency stay (L 4, A 3), Charlson 2 (C 2), one A&E visit in 6 months (E 1) → 10.
    example = lace_score(length_of_stay_days=5, emergency=True, charlson=2, ae_visits_6m=1)
    assert (example.length_of_stay_points, example.acuity_points, example.comorbidity_points) == (4, 3, 2)
    assert example.total == 10
    # Day case, elective, no comorbidity, no A&E → 0.
    assert lace_score(length_of_stay_days=0, emergency=False, charlson=0, ae_visits_6m=0).total == 0
    # Charlson 4 gives 5 points, not 4; 6 A&E visits cap at 4; 20 days gives 7 → maximum 19.
    worst = lace_score(length_of_stay_days=20, emergency=True, charlson=4, ae_visits_6m=6)
    assert worst.comorbidity_points == 5
    assert worst.total == LACE_MAXIMUM == 19
