"""The rates the economy produced, against the England-shaped targets it aims at.

Counts are whole numbers added up person by person (so the sums never depend on order); rates are
worked out once at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from joinedup.synth.conditions import PREVALENCE
from joinedup.synth.events import History
from joinedup.synth.latent import activity_band
from joinedup.synth.population import Person

AGE_BANDS = ("0-4", "5-17", "18-44", "45-64", "65-74", "75-84", "85+")


@dataclass(frozen=True, slots=True)
class RateTarget:
    """A rate aimed at: per 1,000 person-years, a percentage, or days; with the tolerance tests use."""

    measure: str
    target: float
    unit: str
    tolerance: float  # relative (0.25 = ±25%) unless absolute
    absolute: bool = False


TARGETS = (
    RateTarget("emergency_admissions", 100.0, "per 1,000 person-years", 0.25),
    RateTarget("ae_attendances", 350.0, "per 1,000 person-years", 0.25),
    RateTarget("elective_admissions", 140.0, "per 1,000 person-years", 0.30),
    RateTarget("outpatient_appointments", 1500.0, "per 1,000 person-years", 0.30),
    RateTarget("gp_consultations", 5000.0, "per 1,000 person-years", 0.30),
    RateTarget("deaths", 9.0, "per 1,000 person-years", 0.35),
    RateTarget("readmissions_30_day", 14.0, "% of emergency discharges", 5.0, absolute=True),
    RateTarget("emergency_length_of_stay", 4.5, "mean days", 1.5, absolute=True),
    RateTarget("opted_out", 3.0, "% of people", 1.5, absolute=True),
)
BAND_TARGETS = {"0-4": 110.0, "5-17": 35.0, "18-44": 55.0, "45-64": 70.0, "65-74": 150.0, "75-84": 280.0, "85+": 520.0}


@dataclass(frozen=True, slots=True)
class RateRow:
    """One line of the summary table."""

    measure: str
    unit: str
    target: float
    produced: float
    within_tolerance: bool


@dataclass(slots=True)
class Tally:
    """Whole-number counts, added person by person."""

    people: int = 0
    exposure_days: int = 0
    emergency: int = 0
    ae: int = 0
    elective: int = 0
    outpatient: int = 0
    gp: int = 0
    deaths: int = 0
    emergency_discharges: int = 0
    readmissions: int = 0
    emergency_los_days: int = 0
    emergency_finished: int = 0
    opted_out: int = 0
    residents: int = 0
    band_days: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGE_BANDS, 0))
    band_emergency: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGE_BANDS, 0))
    prevalent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PREVALENCE, 0))

    def add(self, other: Tally) -> None:
        """Add another tally (from another worker) into this one."""
        for name in ("people", "exposure_days", "emergency", "ae", "elective", "outpatient", "gp", "deaths",
                     "emergency_discharges", "readmissions", "emergency_los_days", "emergency_finished", "opted_out",
                     "residents"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in ((self.band_days, other.band_days), (self.band_emergency, other.band_emergency),
                             (self.prevalent, other.prevalent)):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value


def _band_name(age: int) -> str:
    return AGE_BANDS[activity_band(age)]


def tally_person(
    tally: Tally, person: Person, history: History, conditions_at_start: list[str], start: date, end: date
) -> None:
    """Count one person's exposure and events."""
    tally.people += 1
    tally.opted_out += person.opted_out
    enters = max(start, person.resident_from)
    leaves = min(x for x in (end, person.resident_to, person.death_date) if x is not None)
    day = enters
    while day < leaves:  # exposure by age band, a year at a time
        step = min(leaves, day + timedelta(days=365))
        band = _band_name(person.age_on(day))
        tally.band_days[band] += (step - day).days
        day = step
    tally.exposure_days += max(0, (leaves - enters).days)
    if person.resident_from <= start:
        tally.residents += 1
        for key in conditions_at_start:
            tally.prevalent[key] += 1
    tally.deaths += person.death_date is not None and person.death_date < end
    tally.ae += len(history.ae)
    tally.outpatient += len(history.outpatients)
    tally.gp += len(history.gp)
    previous_discharge = None
    for spell in history.spells:
        if not spell.emergency:
            tally.elective += 1
            continue
        tally.emergency += 1
        tally.band_emergency[_band_name(person.age_on(spell.admit.date()))] += 1
        if previous_discharge is not None and (spell.admit - previous_discharge).days < 30:
            tally.readmissions += 1
        if spell.discharge.date() < end:
            tally.emergency_los_days += spell.length_of_stay
            tally.emergency_finished += 1
            if not spell.died:
                tally.emergency_discharges += 1
                previous_discharge = spell.discharge


def rates(tally: Tally) -> list[RateRow]:
    """The produced rates beside their targets."""
    years = max(tally.exposure_days, 1) / 365.25
    per_1000 = {
        "emergency_admissions": tally.emergency,
        "ae_attendances": tally.ae,
        "elective_admissions": tally.elective,
        "outpatient_appointments": tally.outpatient,
        "gp_consultations": tally.gp,
        "deaths": tally.deaths,
    }
    produced: dict[str, float] = {k: 1000 * v / years for k, v in per_1000.items()}
    produced["readmissions_30_day"] = 100 * tally.readmissions / max(tally.emergency_discharges, 1)
    produced["emergency_length_of_stay"] = tally.emergency_los_days / max(tally.emergency_finished, 1)
    produced["opted_out"] = 100 * tally.opted_out / max(tally.people, 1)
    rows = []
    for target in TARGETS:
        value = produced[target.measure]
        allowed = target.tolerance if target.absolute else target.tolerance * target.target
        rows.append(RateRow(target.measure, target.unit, target.target, round(value, 2),
                            abs(value - target.target) <= allowed))
    for band in AGE_BANDS:
        band_years = tally.band_days[band] / 365.25
        value = 1000 * tally.band_emergency[band] / band_years if band_years else 0.0
        target_value = BAND_TARGETS[band]
        rows.append(RateRow(f"emergency_admissions_{band}", "per 1,000 person-years", target_value, round(value, 2),
                            abs(value - target_value) <= 0.4 * target_value))
    return rows


def prevalence(tally: Tally) -> dict[str, float]:
    """Share (%) of people resident at the start with each condition then."""
    return {k: round(100 * v / max(tally.residents, 1), 2) for k, v in tally.prevalent.items()}
