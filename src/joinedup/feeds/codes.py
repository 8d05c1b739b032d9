"""Code systems and times as feeds send them, turned into the store's short forms.

Codes are kept exactly as given; only the *system* is shortened to a name the record tables hold
in 20 characters (``snomed``, ``icd10``, ``loinc``, ``dmd``, ``opcs4``, ``read2``...).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

CODE_SYSTEMS = {
    "http://snomed.info/sct": "snomed",
    "https://snomed.info/sct": "snomed",
    "http://loinc.org": "loinc",
    "https://loinc.org": "loinc",
    "https://dmd.nhs.uk": "dmd",
    "http://dmd.nhs.uk": "dmd",
    "http://hl7.org/fhir/sid/icd-10": "icd10",
    "http://hl7.org/fhir/sid/icd-10-uk": "icd10",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
    "http://hl7.org/fhir/sid/icd-9-cm": "icd9cm",
    "https://fhir.hl7.org.uk/Id/opcs-4": "opcs4",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
    "https://fhir.hl7.org.uk/Id/read-v2": "read2",
    "http://read.info/readv2": "read2",
    "http://read.info/ctv3": "ctv3",
    "http://unitsofmeasure.org": "ucum",
    "http://hl7.org/fhir/sid/cvx": "cvx",
    "http://www.whocc.no/atc": "atc",
    "http://terminology.hl7.org/CodeSystem/v3-ActCode": "v3-actcode",
}

# HL7 v2 coding system names (CE/CWE component 3) to the same short names.
HL7_CODING_SYSTEMS = {
    "SCT": "snomed",
    "SNM": "snomed",
    "SNOMED": "snomed",
    "SNOMEDCT": "snomed",
    "LN": "loinc",
    "LOINC": "loinc",
    "I10": "icd10",
    "ICD10": "icd10",
    "I10C": "icd10cm",
    "I9": "icd9cm",
    "I9C": "icd9cm",
    "OPCS4": "opcs4",
    "OPCS": "opcs4",
    "RD2": "read2",
    "99ZZZ": "local",
    "L": "local",
}


def short_system(system: str | None) -> str:
    """The store's name for a code system URL or name; unknown ones keep their last path part."""
    if not system:
        return "local"
    known = CODE_SYSTEMS.get(system) or HL7_CODING_SYSTEMS.get(system.upper())
    if known:
        return known
    tail = system.rstrip("/").rsplit("/", 1)[-1] or system
    return tail[:20]


@lru_cache(maxsize=65536)
def parse_datetime(text: str | None) -> datetime | None:
    """An ISO 8601 / FHIR dateTime (``2024-01-05``, ``2024-01-05T10:00:00Z``) as an aware datetime.

    A value with no zone is taken as UK local time. Raises ValueError when it is not a date-time.
    Cached: feeds repeat the same times (an admission time in every message of the spell).
    """
    if not text:
        return None
    if len(text) == 4:
        return datetime(int(text), 1, 1, tzinfo=LONDON).astimezone(UTC)
    if len(text) == 7:
        return datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=LONDON).astimezone(UTC)
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=LONDON)
    return value.astimezone(UTC)


def parse_date(text: str | None) -> date | None:
    """A date (``2024-01-05``) or the date part of a date-time; partial dates give None.

    Raises ValueError when it is not a date.
    """
    if not text:
        return None
    if len(text) < 10:
        if len(text) in (4, 7) and text[:4].isdigit():
            return None
        raise ValueError("not a date")
    return date.fromisoformat(text[:10])


@lru_cache(maxsize=65536)
def parse_hl7_datetime(text: str | None) -> datetime | None:
    """An HL7 v2 TS/DTM (``YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]``) as an aware datetime.

    No zone means UK local time. Raises ValueError when it is not a date-time.
    """
    if not text:
        return None
    zone = None
    for sign in ("+", "-"):
        at = text.find(sign, 4)
        if at > 0:
            text, offset = text[:at], text[at:]
            if len(offset) != 5 or not offset[1:].isdigit():
                raise ValueError("bad zone")
            zone = datetime.strptime(offset, "%z").tzinfo
            break
    text = text.split(".", 1)[0]
    if not text.isdigit() or len(text) not in (4, 6, 8, 10, 12, 14):
        raise ValueError("bad date-time")
    value = datetime(
        int(text[0:4]), int(text[4:6] or 1), int(text[6:8] or 1),
        int(text[8:10] or 0), int(text[10:12] or 0), int(text[12:14] or 0), tzinfo=zone or LONDON,
    )
    return value.astimezone(UTC)


def parse_hl7_date(text: str | None) -> date | None:
    """The date part of an HL7 v2 date or date-time (``YYYYMMDD...``); partial dates give None."""
    if not text:
        return None
    digits = text[:8]
    if len(digits) < 8:
        if digits.isdigit() and len(digits) in (4, 6):
            return None
        raise ValueError("bad date")
    if not digits.isdigit():
        raise ValueError("bad date")
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


# Verhoeff's dihedral-group tables: SNOMED CT identifiers end with a Verhoeff check digit.
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
# Partition identifiers of concept, description and relationship ids (short and extension form).
_SNOMED_PARTITIONS = frozenset({"00", "01", "02", "10", "11", "12"})


@lru_cache(maxsize=65536)  # a feed uses a few thousand codes, each millions of times
def is_snomed_id(code: str, *, check_digit: bool = True) -> bool:
    """True when ``code`` has the form of a SNOMED CT identifier: 6–18 digits, no leading zero,
    a known partition identifier and (unless ``check_digit`` is False) a valid Verhoeff check digit.

    It cannot say the concept exists (that needs the release), but it refuses made-up numbers
    such as ``9999999999999``. dm+d codes are SNOMED identifiers too; they are checked without the
    check digit, because locally made dm+d-like codes are common in GP extracts.
    """
    if not code.isdigit() or not 6 <= len(code) <= 18 or code[0] == "0":
        return False
    if code[-3:-1] not in _SNOMED_PARTITIONS:
        return False
    if not check_digit:
        return True
    check = 0
    for position, digit in enumerate(reversed(code)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(digit)]]
    return check == 0
