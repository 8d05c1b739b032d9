"""The terminology the synthetic economy records with: SNOMED CT, ICD-10, OPCS-4, dm+d, LOINC.

Codes are representative of what real systems send; they are chosen so that a consumer can map
them to registers (QOF-like) and the electronic Frailty Index, not as a complete terminology.
"""

from __future__ import annotations

from dataclasses import dataclass

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
DMD = "https://dmd.nhs.uk"
ICD10 = "ICD-10"
OPCS4 = "OPCS-4"


@dataclass(frozen=True, slots=True)
class Code:
    """One code with its system and display text."""

    code: str
    display: str
    system: str = SNOMED


@dataclass(frozen=True, slots=True)
class ConditionCodes:
    """How a long-term condition is coded in each setting."""

    key: str
    snomed: Code
    icd10: str
    drugs: tuple[Code, ...]


CONDITIONS: dict[str, ConditionCodes] = {
    c.key: c
    for c in (
        ConditionCodes(
            "hypertension",
            Code("38341003", "Hypertensive disorder"),
            "I10X",
            (Code("319283006", "Amlodipine 5mg tablets", DMD), Code("318900002", "Ramipril 5mg capsules", DMD)),
        ),
        ConditionCodes(
            "diabetes",
            Code("44054006", "Type 2 diabetes mellitus"),
            "E119",
            (Code("325278007", "Metformin 500mg tablets", DMD), Code("408155001", "Gliclazide 80mg tablets", DMD)),
        ),
        ConditionCodes(
            "asthma",
            Code("195967001", "Asthma"),
            "J459",
            (
                Code("320176004", "Salbutamol 100micrograms/dose inhaler", DMD),
                Code("320123002", "Beclometasone 100micrograms/dose inhaler", DMD),
            ),
        ),
        ConditionCodes(
            "depression",
            Code("35489007", "Depressive disorder"),
            "F329",
            (Code("321949006", "Sertraline 50mg tablets", DMD),),
        ),
        ConditionCodes(
            "chd",
            Code("53741008", "Coronary arteriosclerosis"),
            "I251",
            (Code("320000009", "Atorvastatin 20mg tablets", DMD), Code("319773006", "Aspirin 75mg tablets", DMD)),
        ),
        ConditionCodes(
            "copd",
            Code("13645005", "Chronic obstructive lung disease"),
            "J449",
            (
                Code("320176004", "Salbutamol 100micrograms/dose inhaler", DMD),
                Code("407900003", "Tiotropium 18microgram inhalation powder capsules", DMD),
            ),
        ),
        ConditionCodes(
            "ckd",
            Code("433144002", "Chronic kidney disease stage 3"),
            "N183",
            (Code("318900002", "Ramipril 5mg capsules", DMD),),
        ),
        ConditionCodes(
            "af",
            Code("49436004", "Atrial fibrillation"),
            "I489",
            (Code("703907008", "Apixaban 5mg tablets", DMD), Code("318590006", "Bisoprolol 2.5mg tablets", DMD)),
        ),
        ConditionCodes(
            "cancer",
            Code("363346000", "Malignant neoplastic disease"),
            "C809",
            (),
        ),
        ConditionCodes(
            "stroke",
            Code("230690007", "Cerebrovascular accident"),
            "I639",
            (Code("319773006", "Aspirin 75mg tablets", DMD), Code("320000009", "Atorvastatin 20mg tablets", DMD)),
        ),
        ConditionCodes(
            "heart_failure",
            Code("84114007", "Heart failure"),
            "I500",
            (Code("317972000", "Furosemide 40mg tablets", DMD), Code("318590006", "Bisoprolol 2.5mg tablets", DMD)),
        ),
        ConditionCodes(
            "dementia",
            Code("52448006", "Dementia"),
            "F03X",
            (Code("326868003", "Donepezil 5mg tablets", DMD),),
        ),
        ConditionCodes(
            "smi",
            Code("58214004", "Schizophrenia"),
            "F209",
            (Code("412197008", "Olanzapine 10mg tablets", DMD),),
        ),
        ConditionCodes(
            "learning_disability",
            Code("110359009", "Intellectual disability"),
            "F79X",
            (),
        ),
    )
}

# The 36 deficits of the electronic Frailty Index (Clegg et al. 2016), each with a representative
# SNOMED CT code. Deficits that ARE a long-term condition above are scored from that condition.
EFI_DEFICITS: dict[str, Code] = {
    "activity_limitation": Code("300948004", "Difficulty performing activities of daily living"),
    "anaemia": Code("271737000", "Anaemia"),
    "arthritis": Code("396275006", "Osteoarthritis"),
    "atrial_fibrillation": CONDITIONS["af"].snomed,
    "cerebrovascular_disease": CONDITIONS["stroke"].snomed,
    "chronic_kidney_disease": CONDITIONS["ckd"].snomed,
    "diabetes": CONDITIONS["diabetes"].snomed,
    "dizziness": Code("404640003", "Dizziness"),
    "dyspnoea": Code("267036007", "Dyspnoea"),
    "falls": Code("161898004", "Falls"),
    "foot_problems": Code("297142003", "Foot problem"),
    "fragility_fracture": Code("263225007", "Fracture of neck of femur"),
    "hearing_impairment": Code("15188001", "Hearing loss"),
    "heart_failure": CONDITIONS["heart_failure"].snomed,
    "heart_valve_disease": Code("368009", "Heart valve disorder"),
    "housebound": Code("160689007", "Housebound"),
    "hypertension": CONDITIONS["hypertension"].snomed,
    "hypotension_syncope": Code("271594007", "Syncope"),
    "ischaemic_heart_disease": CONDITIONS["chd"].snomed,
    "memory_cognitive_problems": Code("386807006", "Memory impairment"),
    "mobility_transfer_problems": Code("302045007", "Difficulty walking"),
    "osteoporosis": Code("64859006", "Osteoporosis"),
    "parkinsonism_tremor": Code("49049000", "Parkinson's disease"),
    "peptic_ulcer": Code("13200003", "Peptic ulcer"),
    "peripheral_vascular_disease": Code("400047006", "Peripheral vascular disease"),
    "polypharmacy": Code("", "Five or more repeat medicines (derived from MedicationRequest)"),
    "requirement_for_care": Code("422650009", "Social care needs"),
    "respiratory_disease": CONDITIONS["copd"].snomed,
    "skin_ulcer": Code("95344007", "Skin ulcer"),
    "sleep_disturbance": Code("26677001", "Sleep disorder"),
    "social_vulnerability": Code("105529008", "Lives alone"),
    "thyroid_disease": Code("14304000", "Thyroid disorder"),
    "urinary_incontinence": Code("165232002", "Urinary incontinence"),
    "urinary_system_disease": Code("68566005", "Urinary tract infectious disease"),
    "visual_impairment": Code("397540003", "Visual impairment"),
    "weight_loss_anorexia": Code("89362005", "Weight loss"),
}

# Deficits scored from a long-term condition (the person has the deficit iff they have it).
DEFICIT_FROM_CONDITION = {
    "atrial_fibrillation": "af",
    "cerebrovascular_disease": "stroke",
    "chronic_kidney_disease": "ckd",
    "diabetes": "diabetes",
    "heart_failure": "heart_failure",
    "hypertension": "hypertension",
    "ischaemic_heart_disease": "chd",
    "respiratory_disease": "copd",
    "memory_cognitive_problems": "dementia",
}

# Deficits drawn on their own (weight: how common relative to the others).
FREE_DEFICITS: dict[str, float] = {
    "activity_limitation": 1.2,
    "anaemia": 0.8,
    "arthritis": 2.0,
    "dizziness": 0.8,
    "dyspnoea": 0.9,
    "falls": 1.2,
    "foot_problems": 1.0,
    "fragility_fracture": 0.4,
    "hearing_impairment": 1.5,
    "heart_valve_disease": 0.4,
    "housebound": 0.6,
    "hypotension_syncope": 0.5,
    "mobility_transfer_problems": 1.2,
    "osteoporosis": 0.9,
    "parkinsonism_tremor": 0.2,
    "peptic_ulcer": 0.5,
    "peripheral_vascular_disease": 0.4,
    "requirement_for_care": 0.6,
    "skin_ulcer": 0.4,
    "sleep_disturbance": 0.9,
    "thyroid_disease": 0.9,
    "urinary_incontinence": 1.0,
    "urinary_system_disease": 0.9,
    "visual_impairment": 1.0,
    "weight_loss_anorexia": 0.4,
}

ALLERGIES = (
    Code("764146007", "Penicillin"),
    Code("372665008", "Non-steroidal anti-inflammatory agent"),
    Code("111088007", "Latex"),
    Code("762952008", "Peanut"),
    Code("387458008", "Aspirin"),
)

ACUTE_DRUGS = (
    Code("323509004", "Amoxicillin 500mg capsules", DMD),
    Code("322236009", "Paracetamol 500mg tablets", DMD),
    Code("324357001", "Doxycycline 100mg capsules", DMD),
    Code("317335000", "Omeprazole 20mg gastro-resistant capsules", DMD),
)

# Observations: key -> (SNOMED, LOINC, display, UCUM unit, category)
OBSERVATIONS: dict[str, tuple[str, str, str, str, str]] = {
    "hba1c": ("999791000000106", "59261-8", "Haemoglobin A1c level - IFCC standardised", "mmol/mol", "laboratory"),
    "egfr": ("1011481000000105", "62238-1", "eGFR using creatinine (CKD-EPI)", "mL/min/{1.73_m2}", "laboratory"),
    "cholesterol": ("1005671000000105", "2093-3", "Serum cholesterol level", "mmol/L", "laboratory"),
    "weight": ("27113001", "29463-7", "Body weight", "kg", "vital-signs"),
    "bmi": ("60621009", "39156-5", "Body mass index", "kg/m2", "vital-signs"),
    "heart_rate": ("364075005", "8867-4", "Heart rate", "/min", "vital-signs"),
}
BP_PANEL = ("75367002", "85354-9", "Blood pressure")
BP_SYSTOLIC = ("271649006", "8480-6", "Systolic blood pressure")
BP_DIASTOLIC = ("271650006", "8462-4", "Diastolic blood pressure")

GP_ENCOUNTER_TYPES = {
    "face_to_face": ("AMB", Code("185347001", "Encounter for problem")),
    "telephone": ("VR", Code("185317003", "Telephone encounter")),
    "home_visit": ("HH", Code("439708006", "Home visit")),
}

# Emergency admission primary diagnoses (ICD-10, no dot) by the condition that drives them, plus
# the generic causes anyone may be admitted for; each with ECDS SNOMED diagnosis and chief complaint.
EMERGENCY_CAUSES: dict[str, tuple[str, str, str, str]] = {
    # key: (ICD-10, display, ECDS SNOMED diagnosis, chief complaint SNOMED)
    "heart_failure": ("I500", "Congestive heart failure", "84114007", "267036007"),
    "copd": ("J441", "COPD with acute exacerbation", "195951007", "267036007"),
    "asthma": ("J459", "Asthma, unspecified", "195967001", "267036007"),
    "diabetes": ("E162", "Hypoglycaemia, unspecified", "302866003", "40917007"),
    "chd": ("I209", "Angina pectoris, unspecified", "194828000", "29857009"),
    "af": ("I489", "Atrial fibrillation, unspecified", "49436004", "80313002"),
    "stroke": ("I639", "Cerebral infarction, unspecified", "230690007", "26544005"),
    "ckd": ("N179", "Acute kidney failure, unspecified", "14669001", "40917007"),
    "dementia": ("F050", "Delirium not superimposed on dementia", "2776000", "40917007"),
    "cancer": ("R53X", "Malaise and fatigue", "84229001", "40917007"),
    "smi": ("F209", "Schizophrenia, unspecified", "58214004", "225444004"),
    "depression": ("T430", "Poisoning by antidepressants", "55680006", "225444004"),
    "pneumonia": ("J189", "Pneumonia, unspecified", "233604007", "267036007"),
    "uti": ("N390", "Urinary tract infection", "68566005", "40917007"),
    "fall_fracture": ("S720", "Fracture of neck of femur", "263225007", "1912002"),
    "chest_pain": ("R072", "Precordial pain", "29857009", "29857009"),
    "abdominal_pain": ("R104", "Other and unspecified abdominal pain", "21522001", "21522001"),
    "cellulitis": ("L039", "Cellulitis, unspecified", "128045006", "271807003"),
    "sepsis": ("A419", "Sepsis, unspecified", "91302008", "40917007"),
    "bronchiolitis": ("J219", "Acute bronchiolitis, unspecified", "4120002", "267036007"),
    "gastroenteritis": ("A090", "Gastroenteritis of infectious origin", "25374005", "62315008"),
    "injury": ("S099", "Injury of head, unspecified", "82271004", "82271004"),
}

# A&E attendances that end at home: ECDS diagnosis SNOMED and chief complaint.
MINOR_AE = (
    ("125605004", "Fracture of bone", "1912002"),
    ("35566002", "Sprain", "1912002"),
    ("283682007", "Laceration", "271807003"),
    ("29857009", "Chest pain", "29857009"),
    ("21522001", "Abdominal pain", "21522001"),
    ("82271004", "Head injury", "82271004"),
    ("68566005", "Urinary tract infection", "40917007"),
    ("25064002", "Headache", "25064002"),
)

# Elective procedures: key -> (OPCS-4, ICD-10 primary diagnosis, specialty, day case share)
ELECTIVE_PROCEDURES: dict[str, tuple[str, str, str, float]] = {
    "cataract": ("C751", "H259", "130", 0.98),
    "hip_replacement": ("W371", "M169", "110", 0.02),
    "knee_replacement": ("W401", "M179", "110", 0.02),
    "colonoscopy": ("H221", "K635", "100", 0.95),
    "cystoscopy": ("M459", "R31X", "101", 0.95),
    "hernia_repair": ("T202", "K409", "100", 0.7),
    "cholecystectomy": ("J183", "K802", "100", 0.5),
    "upper_gi_endoscopy": ("G451", "K219", "100", 0.98),
    "chemotherapy": ("X352", "Z511", "300", 1.0),
    "coronary_angiography": ("K634", "I251", "320", 0.85),
    "hysterectomy": ("Q074", "D259", "502", 0.1),
}

SPECIALTY_FOR_CONDITION = {
    "heart_failure": "320",
    "chd": "320",
    "af": "320",
    "copd": "340",
    "asthma": "340",
    "diabetes": "300",
    "ckd": "300",
    "cancer": "300",
    "stroke": "300",
    "dementia": "430",
}
GENERAL_SPECIALTIES = ("100", "110", "101", "130", "502", "300", "320")

COMMUNITY_REASONS = {
    "district_nursing": Code("225358003", "Wound care"),
    "community_matron": Code("710081004", "Medication review"),
    "physiotherapy": Code("91251008", "Physical therapy procedure"),
    "occupational_therapy": Code("84478008", "Occupational therapy"),
    "intermediate_care": Code("1066901000000102", "Intermediate care"),
    "falls_service": Code("1912002", "Fall"),
    "heart_failure_nursing": CONDITIONS["heart_failure"].snomed,
    "diabetes_specialist_nursing": CONDITIONS["diabetes"].snomed,
}

TELEHEALTH_CODES = {
    "weight": ("29463-7", "Body weight", "kg"),
    "systolic": ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    "diastolic": ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "heart_rate": ("8867-4", "Heart rate", "/min"),
    "spo2": ("59408-5", "Oxygen saturation in arterial blood by pulse oximetry", "%"),
    "glucose": ("15074-8", "Glucose [Moles/volume] in Blood", "mmol/L"),
}

ETHNIC_CATEGORIES = {
    "A": "British",
    "B": "Irish",
    "C": "Any other White background",
    "D": "White and Black Caribbean",
    "F": "White and Asian",
    "H": "Indian",
    "J": "Pakistani",
    "K": "Bangladeshi",
    "L": "Any other Asian background",
    "M": "Caribbean",
    "N": "African",
    "R": "Chinese",
    "S": "Any other ethnic group",
    "Z": "Not stated",
}

UNKNOWN_SNOMED = "9999999999999"
UNKNOWN_ICD10 = "X999"
