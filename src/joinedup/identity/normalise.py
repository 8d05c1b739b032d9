"""Cleaning demographics into the form the linkage model compares.

Names are upper-cased and stripped of everything but letters (``O'Brien`` and ``OBRIEN`` agree);
names that stand for "not known yet" (``BABY``, ``UNKNOWN``) become null, so a newborn's record
is not matched on the word "Baby". Postcodes get the single space before the inward code. Dates
of birth become ISO strings, which every engine compares the same way.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from typing import Final

_NOT_LETTERS = re.compile(r"[^A-Z]")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")

# Given names recorded before a real one is known (newborns, unidentified patients).
PLACEHOLDER_NAMES: Final = frozenset(
    {"BABY", "BABYBOY", "BABYGIRL", "INFANT", "UNKNOWN", "NOTKNOWN", "UNNAMED", "NK", "XX", "X", "TWIN"}
)

_SEX: Final[dict[str, str]] = {
    "m": "male",
    "male": "male",
    "1": "male",
    "f": "female",
    "female": "female",
    "2": "female",
    "o": "other",
    "other": "other",
    "9": "other",
}


def name(value: object) -> str | None:
    """An upper-case, letters-only name, or None when empty or a placeholder such as "Baby"."""
    if value is None:
        return None
    return _clean_name(str(value))


@functools.lru_cache(maxsize=200_000)
def _clean_name(value: str) -> str | None:
    # Names repeat a great deal in a population: cache the cleaning.
    cleaned = _NOT_LETTERS.sub("", value.upper())
    if not cleaned or cleaned in PLACEHOLDER_NAMES:
        return None
    return cleaned


def postcode(value: object) -> str | None:
    """A UK postcode as ``AA9A 9AA`` (one space before the last three characters), or None."""
    if value is None:
        return None
    return _clean_postcode(str(value))


@functools.lru_cache(maxsize=200_000)
def _clean_postcode(value: str) -> str | None:
    cleaned = _NOT_ALNUM.sub("", value.upper())
    if len(cleaned) < 5 or len(cleaned) > 7:
        return cleaned or None
    return f"{cleaned[:-3]} {cleaned[-3:]}"


def sex(value: object) -> str | None:
    """male | female | other, or None for unknown/blank."""
    if value is None:
        return None
    return _SEX.get(str(value).strip().casefold())


_DATE_FORMATS: Final = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")


def birth_date(value: object) -> str | None:
    """A date of birth as ``YYYY-MM-DD``, or None when missing or unreadable."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return None
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(text[:10] if form == "%Y-%m-%d" else text, form).date().isoformat()
        except ValueError:
            continue
    return None
