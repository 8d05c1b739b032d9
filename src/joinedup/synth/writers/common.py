"""What every writer needs: the subject being written, how a source shows their identity (with
its faults), CSV rows and date formats."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime

from joinedup.synth.conditions import Clinical
from joinedup.synth.events import History
from joinedup.synth.faults import (
    PLACEHOLDERS,
    FaultDraw,
    invalid_nhs_number,
    name_typo,
    swap_day_month,
    wrong_nhs_number,
)
from joinedup.synth.identifiers import PersonIds
from joinedup.synth.population import Person
from joinedup.synth.writers.spool import FaultNote, Spool


@dataclass(slots=True)
class SourceQuality:
    """How each local system holds this person's NHS number: ``ok``, ``missing`` or ``wrong``."""

    pas: str = "ok"
    community: str = "ok"
    social_care: str = "ok"
    telehealth: str = "ok"


@dataclass(slots=True)
class Subject:
    """One person being written to every feed."""

    person: Person
    clinical: Clinical
    ids: PersonIds
    history: History
    faults: FaultDraw
    quality: SourceQuality
    spool: Spool
    seed: int
    start: date
    end: date
    used_duplicate_mrn: bool = False
    message_count: int = 0
    months: list[str] = field(default_factory=list)

    def later_month(self, month: str) -> str | None:
        """A month after ``month`` within the period (for a late record), or None."""
        later = [m for m in self.months if m > month]
        if not later:
            return None
        return later[0] if len(later) == 1 or self.faults.rng.random() < 0.7 else later[1]


@dataclass(slots=True)
class ShownIdentity:
    """A person's identity as one record shows it."""

    nhs_number: str
    given_name: str
    family_name: str
    birth_date: date
    notes: list[FaultNote] = field(default_factory=list)


IDENTITY_FAULTS = (
    "nhs_number_invalid",
    "nhs_number_missing",
    "nhs_number_placeholder",
    "name_typo",
    "dob_day_month_swapped",
)


def held_nhs_number(subject: Subject, quality: str, record_id: str) -> tuple[str, list[FaultNote]]:
    """The NHS number a local system holds for the person, with a source-quality note if it is off."""
    true_number = subject.person.nhs_number
    if quality == "missing":
        return "", [FaultNote("nhs_number_missing", record_id, "source_quality")]
    if quality == "wrong":
        rng = random.Random(subject.seed * 1_000_003 + subject.person.index)  # noqa: S311 - simulation
        return wrong_nhs_number(rng, true_number), [FaultNote("nhs_number_wrong", record_id, "source_quality")]
    return true_number, []


def show_identity(subject: Subject, kind: str | None, record_id: str, quality: str = "ok") -> ShownIdentity:
    """The identity on one record: the held NHS number, then any injected identity fault."""
    person = subject.person
    number, notes = held_nhs_number(subject, quality, record_id)
    shown = ShownIdentity(number, person.given_name, person.family_name, person.birth_date, notes)
    if kind is None or kind not in IDENTITY_FAULTS:
        return shown
    rng = subject.faults.rng
    if kind == "dob_day_month_swapped":
        swapped = swap_day_month(person.birth_date)
        if swapped is None:  # day after the 12th: break the NHS number instead (every feed shows one)
            kind = "nhs_number_invalid"
        else:
            shown.birth_date = swapped
    if kind == "nhs_number_invalid" and number:
        shown.nhs_number = invalid_nhs_number(rng, number)
    elif kind in ("nhs_number_invalid", "nhs_number_missing"):
        kind = "nhs_number_missing"
        shown.nhs_number = ""
    elif kind == "nhs_number_placeholder":
        shown.nhs_number = rng.choice(PLACEHOLDERS)
    elif kind == "name_typo":
        if rng.random() < 0.6:
            shown.family_name = name_typo(rng, person.family_name)
        else:
            shown.given_name = name_typo(rng, person.given_name)
    shown.notes.append(FaultNote(kind, record_id))
    return shown


def csv_row(values: list[str]) -> str:
    """One CSV row (RFC 4180 quoting where needed), without the line end."""
    line = ",".join(values)
    if line.count(",") == len(values) - 1 and '"' not in line and "\n" not in line and "\r" not in line:
        return line  # nothing to quote: the common case, kept fast
    return ",".join(_quote(v) for v in values)


def _quote(value: str) -> str:
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def iso_date(day: date | None) -> str:
    """``YYYY-MM-DD`` or empty."""
    return day.isoformat() if day else ""


def iso_instant(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (the synthetic clocks run in UTC)."""
    return moment.isoformat(timespec="seconds") + "Z"


def month_of(day: date | datetime) -> str:
    """``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def money(value: float) -> str:
    """Pounds to two decimals."""
    return f"{value:.2f}"
