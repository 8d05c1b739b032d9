"""Care outside the hospital: community nursing and therapy, adult social care, and telehealth
monitoring. Each reacts to what happened in hospital (intermediate care and assessments after a
discharge; weight rising in heart failure before an admission)."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta

from joinedup.synth.codes import COMMUNITY_REASONS
from joinedup.synth.conditions import Clinical, age_band
from joinedup.synth.costs import unit_costs
from joinedup.synth.events import (
    CarePackage,
    CommunityContact,
    History,
    SocialCareAssessment,
    TelehealthReading,
)
from joinedup.synth.identifiers import PersonIds
from joinedup.synth.population import Person

_EPISODE_BASE = (0.005, 0.008, 0.02, 0.06, 0.14, 0.30)  # community episodes a year by age band
_ASSESSMENT_BASE = (0.0, 0.004, 0.006, 0.02, 0.05, 0.12)  # social care assessments a year
_TEAM_COST = {
    "district_nursing": "community_nursing_contact",
    "physiotherapy": "community_therapy_contact",
    "occupational_therapy": "community_therapy_contact",
    "falls_service": "community_therapy_contact",
}
TELEHEALTH_HEART_FAILURE_SHARE = 0.15
TELEHEALTH_DIABETES_SHARE = 0.03


def _days(start: date, stop: date) -> int:
    return max(0, (stop - start).days)


def _end_of_life(person: Person, stop: date) -> date:
    return min(stop, person.death_date) if person.death_date else stop


def simulate_community(
    rng: random.Random, person: Person, clinical: Clinical, ids: PersonIds, history: History, *, start: date, stop: date
) -> list[CommunityContact]:
    """Episodes of community care: by age and frailty, and intermediate care after discharges."""
    stop = _end_of_life(person, stop)
    begin = max(start, person.resident_from)
    episodes: list[tuple[date, str]] = []
    frailty = math.exp(0.5 * clinical.frailty_z)
    year = begin
    while year < stop:
        age = person.age_on(year)
        if rng.random() < _EPISODE_BASE[age_band(age)] * frailty:
            episodes.append((year + timedelta(days=rng.randrange(365)), _team(rng, clinical, year)))
        year += timedelta(days=365)
    for spell in history.spells:
        if spell.emergency and not spell.died and person.age_on(spell.admit.date()) >= 65 and rng.random() < 0.35:
            episodes.append((spell.discharge.date() + timedelta(days=1), "intermediate_care"))
    contacts: list[CommunityContact] = []
    for first_day, team in sorted(episodes):
        contacts.extend(_episode_contacts(rng, ids, team, first_day, stop, len(contacts)))
    return contacts


def _team(rng: random.Random, clinical: Clinical, on: date) -> str:
    options = {"district_nursing": 4.0, "physiotherapy": 2.0, "occupational_therapy": 1.0}
    if len(clinical.conditions_on(on)) >= 2:
        options["community_matron"] = 1.0
    if "falls" in clinical.deficits:
        options["falls_service"] = 1.5
    if clinical.has("heart_failure", on):
        options["heart_failure_nursing"] = 2.0
    if clinical.has("diabetes", on) and clinical.hba1c_mean > 70:
        options["diabetes_specialist_nursing"] = 1.5
    return rng.choices(tuple(options), weights=tuple(options.values()))[0]


def _episode_contacts(
    rng: random.Random, ids: PersonIds, team: str, first_day: date, stop: date, numbered: int
) -> list[CommunityContact]:
    costs = unit_costs()
    count, gap = {
        "district_nursing": (rng.randint(4, 16), (3, 7)),
        "community_matron": (rng.randint(3, 8), (10, 21)),
        "intermediate_care": (rng.randint(6, 14), (1, 3)),
        "heart_failure_nursing": (rng.randint(2, 6), (14, 42)),
        "diabetes_specialist_nursing": (rng.randint(2, 4), (21, 60)),
    }.get(team, (rng.randint(2, 6), (6, 9)))
    cost = costs[_TEAM_COST.get(team, "community_specialist_contact")]
    contacts: list[CommunityContact] = []
    day = first_day
    for _ in range(count):
        if day >= stop:
            break
        home = team in ("district_nursing", "intermediate_care", "community_matron")
        mode = "telephone" if rng.random() < 0.12 else "home_visit" if home or rng.random() < 0.4 else "clinic"
        contacts.append(
            CommunityContact(
                contact_id=f"{ids.contact_prefix}{numbered + len(contacts) + 1:04d}",
                at=datetime.combine(day, time(rng.randint(8, 17), rng.randrange(0, 60, 5))),
                team=team,
                mode=mode,
                minutes=rng.choice((15, 20, 30, 30, 45, 60)) if mode != "telephone" else rng.choice((10, 15)),
                reason=COMMUNITY_REASONS[team],
                cost_gbp=cost,
            )
        )
        day += timedelta(days=rng.randint(*gap))
    return contacts


def simulate_social_care(
    rng: random.Random, person: Person, clinical: Clinical, ids: PersonIds, history: History, *, start: date, stop: date
) -> tuple[list[SocialCareAssessment], list[CarePackage]]:
    """Assessments (by need, and after hospital discharges), the packages they lead to, reviews."""
    stop = _end_of_life(person, stop)
    begin = max(start, person.resident_from)
    triggers: list[tuple[date, str]] = []
    year = begin
    while year < stop:
        age = person.age_on(year)
        if age >= 18:
            need = _ASSESSMENT_BASE[age_band(age)] * (1 + 0.15 * len(clinical.deficits))
            need *= (2.0 if clinical.has("dementia", year) else 1.0) * (1.5 if person.lives_alone else 1.0)
            need += 0.25 if clinical.has("learning_disability", year) else 0.0
            if rng.random() < min(0.9, need):
                triggers.append((year + timedelta(days=rng.randrange(365)), "care_act_assessment"))
        year += timedelta(days=365)
    for spell in history.spells:
        if spell.emergency and not spell.died and person.age_on(spell.admit.date()) >= 75 and rng.random() < 0.15:
            triggers.append((spell.discharge.date(), "hospital_discharge_assessment"))
    assessments: list[SocialCareAssessment] = []
    packages: list[CarePackage] = []
    for day, kind in sorted(triggers):
        if day >= stop:
            continue
        active = [p for p in packages if p.end is None or p.end > day]
        if active:
            kind = "review"
        assessment = _assessment(rng, ids, person, clinical, day, kind, len(assessments) + 1)
        assessments.append(assessment)
        if not active and assessment.outcome in ("long_term_support", "short_term_support"):
            package = _package(rng, ids, person, clinical, assessment, stop, len(packages) + 1)
            if package.start < stop:
                packages.append(package)
    return assessments, packages


def _assessment(
    rng: random.Random, ids: PersonIds, person: Person, clinical: Clinical, day: date, kind: str, number: int
) -> SocialCareAssessment:
    costs = unit_costs()
    if clinical.has("learning_disability", day):
        reason = "learning_disability"
    elif clinical.has("dementia", day):
        reason = "memory_and_cognition"
    elif clinical.has("smi", day):
        reason = "mental_health"
    else:
        reason = rng.choice(("physical_support", "physical_support", "physical_support", "social_support"))
    roll = rng.random()
    outcome = (
        "long_term_support" if roll < 0.45 else "short_term_support" if roll < 0.65
        else "universal_services" if roll < 0.85 else "no_eligible_needs"
    )
    if kind == "review":
        outcome = "long_term_support"
    return SocialCareAssessment(
        assessment_id=f"{ids.assessment_prefix}{number:03d}",
        on=day,
        kind=kind,
        support_reason=reason,
        outcome=outcome,
        cost_gbp=costs["social_care_review" if kind == "review" else "care_act_assessment"],
    )


def _package(
    rng: random.Random,
    ids: PersonIds,
    person: Person,
    clinical: Clinical,
    assessment: SocialCareAssessment,
    stop: date,
    number: int,
) -> CarePackage:
    costs = unit_costs()
    start = assessment.on + timedelta(days=rng.randint(3, 28))
    age = person.age_on(assessment.on)
    if assessment.outcome == "short_term_support":
        service, hours, planned = "reablement", float(rng.choice((7, 10, 14))), 42
        weekly = hours * costs["reablement_hour"]
    else:
        dementia = clinical.has("dementia", assessment.on)
        options = {"home_care": 0.7, "direct_payment": 0.1, "day_care": 0.05,
                   "residential_care": 0.25 if dementia and age >= 80 else 0.04,
                   "nursing_care": 0.1 if dementia and age >= 80 else 0.02}
        service = rng.choices(tuple(options), weights=tuple(options.values()))[0]
        hours = float(rng.choice((5, 7, 10, 14, 21))) if service == "home_care" else 0.0
        weekly = {
            "home_care": hours * costs["home_care_hour"],
            "direct_payment": costs["direct_payment_week"],
            "day_care": costs["day_care_session_week"],
            "residential_care": costs["residential_care_week"],
            "nursing_care": costs["nursing_care_week"],
        }[service]
        planned = int(rng.expovariate(1 / 900)) + 60
    end: date | None = start + timedelta(days=planned)
    reason = "no_longer_needed"
    if person.death_date and end is not None and person.death_date <= end:
        end, reason = person.death_date, "died"
    elif person.resident_to and end is not None and person.resident_to <= end:
        end, reason = person.resident_to, "moved_away"
    if end is not None and end >= stop:
        end, reason = None, ""
    return CarePackage(
        package_id=f"{ids.package_prefix}{number:02d}",
        start=start,
        end=end,
        service_type=service,
        weekly_hours=hours,
        weekly_cost_gbp=round(weekly, 2),
        end_reason=reason,
    )


def simulate_telehealth(
    rng: random.Random, person: Person, clinical: Clinical, ids: PersonIds, history: History, *, start: date, stop: date
) -> list[TelehealthReading]:
    """Home monitoring for some adults with heart failure or diabetes."""
    stop = _end_of_life(person, stop)
    begin = max(start, person.resident_from)
    if person.age_on(begin) < 18:
        return []
    programme = ""
    if "heart_failure" in clinical.conditions and rng.random() < TELEHEALTH_HEART_FAILURE_SHARE:
        programme = "heart_failure"
    elif "diabetes" in clinical.conditions and rng.random() < TELEHEALTH_DIABETES_SHARE:
        programme = "diabetes"
    if not programme:
        return []
    enrol = max(begin, clinical.conditions[programme]) + timedelta(days=rng.randrange(1, 365))
    leave = min(stop, enrol + timedelta(days=rng.randint(180, 540)))
    readings: list[TelehealthReading] = []
    admissions = [s.admit for s in history.spells if s.emergency]
    in_hospital = [(s.admit.date(), s.discharge.date()) for s in history.spells]
    day = enrol
    while day < leave:
        if not any(a <= day <= b for a, b in in_hospital):
            moment = datetime.combine(day, time(rng.randint(7, 9), rng.randrange(60)))
            if programme == "heart_failure":
                readings.extend(_heart_failure_session(rng, ids, clinical, moment, admissions, len(readings)))
            else:
                mmol = (clinical.hba1c_mean / 10.929 + 2.15) * 1.59 - 2.59
                value = round(max(2.5, rng.gauss(mmol, 1.6)), 1)
                reading_id = f"{ids.reading_prefix}{len(readings) + 1:05d}"
                readings.append(TelehealthReading(reading_id, moment, "glucose", value))
        day += timedelta(days=rng.choice((1, 1, 2, 3)))
    return readings


def _heart_failure_session(
    rng: random.Random,
    ids: PersonIds,
    clinical: Clinical,
    moment: datetime,
    admissions: list[datetime],
    numbered: int,
) -> list[TelehealthReading]:
    # Fluid builds up in the fortnight before an admission: weight rises, saturation falls.
    days_before = min(((a - moment).days for a in admissions if a > moment), default=99)
    build_up = max(0, 14 - days_before) if days_before < 14 else 0
    weight = clinical.weight_kg + rng.gauss(0, 0.4) + 0.25 * build_up
    systolic = rng.gauss(clinical.systolic_base - 5, 8)
    values = {
        "weight": round(weight, 1),
        "systolic": round(systolic),
        "diastolic": round(systolic * 0.6 + rng.gauss(5, 5)),
        "heart_rate": round(rng.gauss(74 + 1.5 * build_up, 7)),
        "spo2": round(min(100, rng.gauss(96 - 0.4 * build_up, 1.2))),
    }
    return [
        TelehealthReading(f"{ids.reading_prefix}{numbered + k + 1:05d}", moment, key, float(value))
        for k, (key, value) in enumerate(values.items())
    ]
