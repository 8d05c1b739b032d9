"""A person's care over the period, year by year from the latent model: GP contacts, A&E,
emergency and elective spells (with readmissions and deaths in hospital), outpatients, community
contacts, social care and telehealth readings."""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from joinedup.synth import latent
from joinedup.synth.codes import (
    ACUTE_DRUGS,
    CONDITIONS,
    EFI_DEFICITS,
    ELECTIVE_PROCEDURES,
    EMERGENCY_CAUSES,
    GENERAL_SPECIALTIES,
    MINOR_AE,
    SPECIALTY_FOR_CONDITION,
    Code,
)
from joinedup.synth.conditions import Clinical
from joinedup.synth.costs import unit_costs
from joinedup.synth.events import (
    AeAttendance,
    GpContact,
    History,
    Measurement,
    OutpatientAppointment,
    RiskYear,
    Spell,
)
from joinedup.synth.identifiers import PersonIds
from joinedup.synth.population import Person
from joinedup.synth.services import simulate_community, simulate_social_care, simulate_telehealth

DEATH_IN_HOSPITAL_SHARE = 0.45
_CHILD_CAUSES = (("bronchiolitis", 1.0), ("gastroenteritis", 1.0), ("injury", 1.0), ("abdominal_pain", 0.6))
_ADULT_CAUSES = (("chest_pain", 1.0), ("abdominal_pain", 1.0), ("pneumonia", 0.6), ("uti", 0.4),
                 ("cellulitis", 0.4), ("injury", 0.6), ("sepsis", 0.3))
_OLDER_CAUSES = (("fall_fracture", 0.9), ("pneumonia", 1.0), ("uti", 0.8), ("sepsis", 0.5),
                 ("chest_pain", 0.5), ("abdominal_pain", 0.4))
_WARD_FOR_SPECIALTY = {"320": "CARD", "340": "RESP", "430": "ELDR", "110": "ORTH", "100": "SURG",
                       "420": "PAED", "300": "GENM", "101": "SURG", "130": "DSU", "502": "GYNA"}


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal for large)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def at_time(day: date, rng: random.Random, first_hour: int, last_hour: int) -> datetime:
    """A time on ``day`` between the hours, to the minute."""
    return datetime.combine(day, time(rng.randint(first_hour, last_hour), rng.randrange(60)))


@dataclass(slots=True)
class _Counter:
    spells: int = 0
    attendances: int = 0
    outpatients: int = 0
    gp: int = 0


def repeat_drugs_on(clinical: Clinical, on: date) -> list[Code]:
    """The repeat medicines a person is on for their conditions on a day (distinct, fixed order)."""
    drugs: dict[str, Code] = {}
    for key in clinical.conditions_on(on):
        for drug in CONDITIONS[key].drugs:
            drugs.setdefault(drug.code, drug)
    return list(drugs.values())


def risk_factors(person: Person, clinical: Clinical, on: date, prior: int, hba1c: float) -> latent.RiskFactors:
    """The latent model's inputs for a person on a day."""
    conditions = clinical.conditions_on(on)
    deficits = clinical.deficit_count(
        on, lives_alone=person.lives_alone, repeat_drug_count=len(repeat_drugs_on(clinical, on))
    )
    return latent.RiskFactors(
        age=person.age_on(on),
        male=person.sex == "male",
        conditions=tuple(conditions),
        deficit_count=deficits,
        imd_decile=person.small_area.imd_decile,
        hba1c=hba1c,
        lives_alone=person.lives_alone,
        prior_emergency_admissions=prior,
        risk_effect=clinical.risk_effect,
    )


def simulate_history(
    rng: random.Random, person: Person, clinical: Clinical, ids: PersonIds, *, start: date, end: date
) -> History:
    """Everything that happens to a person between entering the borough and leaving it (or the end)."""
    history = History()
    counter = _Counter()
    stop = min(end, person.resident_to or end)
    year_index = 0
    window_start = start
    prior = -1
    while window_start < stop:
        window_end = add_years(start, year_index + 1)
        year_index += 1
        t0, t1 = max(window_start, person.resident_from), min(window_end, stop)
        window_start = window_end
        if t0 >= t1:
            continue
        hba1c = max(20.0, rng.gauss(clinical.hba1c_mean, 5.0 if clinical.has("diabetes", t0) else 1.5))
        if prior < 0:  # the year before the period: never seen in the feeds, but it shaped this one
            prior = poisson(rng, latent.emergency_rate(risk_factors(person, clinical, t0, 0, hba1c)))
        factors = risk_factors(person, clinical, t0, prior, hba1c)
        rate, hazard = latent.emergency_rate(factors), latent.death_hazard(factors)
        history.risk_years.append(RiskYear(t0, factors.age, factors.deficit_count, rate, hazard))
        days = (t1 - t0).days
        if rng.random() < 1 - math.exp(-hazard * days / 365.25):
            person.death_date = t0 + timedelta(days=rng.randrange(days))
            person.death_in_hospital = rng.random() < DEATH_IN_HOSPITAL_SHARE
            t1 = person.death_date
        emergencies_before = sum(1 for s in history.spells if s.emergency)
        _simulate_hospital(rng, person, clinical, ids, history, counter, factors, rate, t0, t1)
        _simulate_gp(rng, person, clinical, history, counter, factors, hba1c, t0, t1)
        prior = sum(1 for s in history.spells if s.emergency) - emergencies_before
        if person.death_date is not None:
            break
    if person.death_date is not None:  # moves were planned before anyone knew
        person.moves = [m for m in person.moves if m.move_date < person.death_date]
    history.community = simulate_community(rng, person, clinical, ids, history, start=start, stop=stop)
    history.assessments, history.packages = simulate_social_care(
        rng, person, clinical, ids, history, start=start, stop=stop
    )
    history.telehealth = simulate_telehealth(rng, person, clinical, ids, history, start=start, stop=stop)
    history.repeat_drugs = repeat_drugs_on(clinical, max(start, person.resident_from))
    return history


def _simulate_hospital(
    rng: random.Random,
    person: Person,
    clinical: Clinical,
    ids: PersonIds,
    history: History,
    counter: _Counter,
    factors: latent.RiskFactors,
    rate: float,
    t0: date,
    t1: date,
) -> None:
    """Lay out the year's spells without overlap, then the A&E and outpatient visits between them."""
    days = (t1 - t0).days
    fraction = days / 365.25
    requests: list[tuple[date, int, str]] = []
    for _ in range(poisson(rng, rate * fraction)):
        requests.append((t0 + timedelta(days=rng.randrange(days)), 1, "emergency"))
    for _ in range(poisson(rng, latent.elective_rate(factors) * fraction)):
        requests.append((t0 + timedelta(days=rng.randrange(days)), 2, "elective"))
    died_here = person.death_date is not None and person.death_date == t1
    if died_here and person.death_in_hospital:
        assert person.death_date is not None
        requests.append((person.death_date - timedelta(days=rng.randint(0, 14)), 0, "terminal"))
    heapq.heapify(requests)
    free_from = datetime.combine(t0, time(0, 0))
    if history.spells:  # a spell that began last year may still be running
        free_from = max(free_from, history.spells[-1].discharge + timedelta(hours=12))
    busy: list[tuple[datetime, datetime]] = [(s.admit, s.discharge) for s in history.spells[-1:]]
    while requests:
        day, _, kind = heapq.heappop(requests)
        if kind != "terminal" and died_here and day >= t1:
            continue
        earliest = max(datetime.combine(day, time(0, 0)), free_from)
        if kind != "terminal" and earliest.date() >= t1:
            continue
        if kind == "terminal":
            earliest = max(earliest, datetime.combine(t1 - timedelta(days=30), time(0, 0)))
            if earliest.date() > t1:
                continue
        spell = _emergency_spell(rng, person, clinical, ids, history, counter, factors, earliest, t1, kind) \
            if kind != "elective" else _elective_spell(rng, person, clinical, ids, counter, factors, earliest)
        if died_here and not spell.died and person.death_date is not None and spell.discharge.date() >= t1:
            _end_spell_in_death(spell, person.death_date)
            person.death_date = spell.discharge.date()
            person.death_in_hospital = True
        history.spells.append(spell)
        busy.append((spell.admit, spell.discharge))
        free_from = spell.discharge + timedelta(hours=12)
        if spell.died:
            break
        if spell.emergency and rng.random() < latent.readmission_probability(rate):
            gap = 1 + int(29 * rng.random() ** 1.6)
            heapq.heappush(requests, (spell.discharge.date() + timedelta(days=gap), 1, "readmission"))
    if died_here and person.death_in_hospital and not any(s.died for s in history.spells):
        person.death_in_hospital = False
    _simulate_ae_and_outpatients(rng, person, clinical, ids, history, counter, factors, rate, t0, t1, busy)


def _end_spell_in_death(spell: Spell, death_date: date) -> None:
    """A spell that runs past the day of death ends with the death."""
    spell.discharge = max(spell.admit + timedelta(hours=2), datetime.combine(death_date, time(23, 0)))
    spell.died = True
    spell.discharge_destination = "79"


def _cause(rng: random.Random, factors: latent.RiskFactors) -> str:
    options: list[tuple[str, float]] = [
        (c, latent.EMERGENCY_CONDITION_LOG[c] * 1.5) for c in factors.conditions if c in EMERGENCY_CAUSES
    ]
    options.extend(_CHILD_CAUSES if factors.age < 18 else _OLDER_CAUSES if factors.age >= 70 else _ADULT_CAUSES)
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _specialty_for_cause(cause: str, age: int) -> str:
    if age < 16:
        return "420"
    if cause == "fall_fracture":
        return "110"
    if cause in ("abdominal_pain",):
        return "100"
    if age >= 75:
        return "430"
    return SPECIALTY_FOR_CONDITION.get(cause, "300" if cause not in ("chest_pain",) else "320")


def _emergency_spell(
    rng: random.Random,
    person: Person,
    clinical: Clinical,
    ids: PersonIds,
    history: History,
    counter: _Counter,
    factors: latent.RiskFactors,
    earliest: datetime,
    t1: date,
    kind: str,
) -> Spell:
    costs = unit_costs()
    counter.spells += 1
    spell_id = f"{ids.spell_prefix}{counter.spells:03d}"
    cause = _cause(rng, factors)
    via = rng.random()
    method = "21" if via < 0.7 else "22" if via < 0.9 else "28"
    arrival = earliest + timedelta(hours=rng.choice((8, 10, 11, 13, 14, 16, 18, 19, 21, 23)), minutes=rng.randrange(60))
    attendance_id = ""
    admit = arrival + timedelta(minutes=rng.randint(30, 120))
    if method == "21":
        counter.attendances += 1
        attendance_id = f"{ids.attendance_prefix}{counter.attendances:03d}"
        admit = arrival + timedelta(minutes=rng.randint(90, 600))
        _icd, _, snomed_dx, complaint = EMERGENCY_CAUSES[cause]
        history.ae.append(
            AeAttendance(
                attendance_id=attendance_id,
                arrival=arrival,
                departure=admit,
                ambulance=rng.random() < (0.75 if factors.age >= 65 else 0.45),
                acuity=rng.choice((1, 2, 2, 3, 3)),
                complaint=complaint,
                diagnosis=snomed_dx,
                admitted_spell_id=spell_id,
                cost_gbp=0.0,
            )
        )
        attendance = history.ae[-1]
        attendance.cost_gbp = costs["ae_attendance"] + costs["ae_ambulance_arrival"] * attendance.ambulance
    if kind == "terminal":
        assert person.death_date is not None
        discharge = datetime.combine(person.death_date, time(rng.randint(0, 23), rng.randrange(60)))
        if discharge <= admit:
            discharge = admit + timedelta(hours=rng.randint(2, 20))
            person.death_date = discharge.date()
    else:
        los = _emergency_length_of_stay(rng, factors.age)
        discharge = datetime.combine(admit.date() + timedelta(days=los), time(rng.randint(11, 19), rng.randrange(60)))
        if discharge <= admit:
            discharge = admit + timedelta(hours=rng.randint(3, 8))
    specialty = _specialty_for_cause(cause, factors.age)
    ward = _WARD_FOR_SPECIALTY.get(specialty, "GENM")
    wards = [("AMU", admit)]
    if (discharge - admit).days >= 2:
        wards.append((ward, admit + timedelta(hours=rng.randint(18, 36))))
    primary = EMERGENCY_CAUSES[cause][0]
    diagnoses = [primary, *[CONDITIONS[c].icd10 for c in factors.conditions if CONDITIONS[c].icd10 != primary][:5]]
    procedures = ["W461"] if cause == "fall_fracture" else []
    los_days = (discharge.date() - admit.date()).days
    care_home = _in_care_home(history, admit.date())
    return Spell(
        spell_id=spell_id,
        emergency=True,
        admission_method=method,
        patient_class="1",
        admit=admit,
        discharge=discharge,
        specialty=specialty,
        diagnoses=diagnoses,
        procedures=procedures,
        wards=wards,
        cause=cause,
        from_care_home=care_home,
        ae_attendance_id=attendance_id,
        died=kind == "terminal",
        discharge_destination="79" if kind == "terminal" else "54" if care_home else "19",
        readmission=kind == "readmission",
        cost_gbp=costs["emergency_spell"] + costs["emergency_excess_bed_day"] * max(0, los_days - 5),
    )


def _in_care_home(history: History, on: date) -> bool:
    return any(
        p.service_type in ("residential_care", "nursing_care") and p.start <= on and (p.end is None or on < p.end)
        for p in history.packages
    )


def _emergency_length_of_stay(rng: random.Random, age: int) -> int:
    if rng.random() < (0.32 if age < 75 else 0.16):
        return 0
    return max(1, min(120, round(math.exp(rng.gauss(math.log(1.7 + age / 28), 0.85)))))


def _elective_spell(
    rng: random.Random,
    person: Person,
    clinical: Clinical,
    ids: PersonIds,
    counter: _Counter,
    factors: latent.RiskFactors,
    earliest: datetime,
) -> Spell:
    costs = unit_costs()
    counter.spells += 1
    key = _elective_procedure(rng, factors, person.sex)
    opcs, icd, specialty, day_case_share = ELECTIVE_PROCEDURES[key]
    day_case = rng.random() < day_case_share
    admit = earliest + timedelta(hours=rng.randint(7, 10), minutes=rng.choice((0, 15, 30, 45)))
    if day_case:
        discharge = admit + timedelta(hours=rng.randint(3, 9))
    else:
        los = rng.randint(2, 5) if key in ("hip_replacement", "knee_replacement", "hysterectomy") else rng.randint(1, 3)
        discharge = datetime.combine(admit.date() + timedelta(days=los), time(rng.randint(10, 17), rng.randrange(60)))
    ward = "DSU" if day_case else _WARD_FOR_SPECIALTY.get(specialty, "SURG")
    diagnoses = [icd, *[CONDITIONS[c].icd10 for c in factors.conditions][:3]]
    return Spell(
        spell_id=f"{ids.spell_prefix}{counter.spells:03d}",
        emergency=False,
        admission_method=rng.choice(("11", "11", "12")),
        patient_class="2" if day_case else "1",
        admit=admit,
        discharge=discharge,
        specialty=specialty,
        diagnoses=diagnoses,
        procedures=[opcs],
        wards=[(ward, admit)],
        cause=key,
        cost_gbp=costs["elective_day_case"] if day_case else costs["elective_ordinary_spell"],
    )


def _elective_procedure(rng: random.Random, factors: latent.RiskFactors, sex: str) -> str:
    weights = {
        "cataract": 2.0 if factors.age >= 60 else 0.1,
        "hip_replacement": 0.8 if factors.age >= 55 else 0.05,
        "knee_replacement": 0.8 if factors.age >= 55 else 0.05,
        "colonoscopy": 1.5 if factors.age >= 40 else 0.3,
        "cystoscopy": 0.8 if factors.age >= 50 else 0.2,
        "hernia_repair": 0.8,
        "cholecystectomy": 0.5 if factors.age >= 25 else 0.05,
        "upper_gi_endoscopy": 1.2 if factors.age >= 30 else 0.3,
        "chemotherapy": 6.0 if "cancer" in factors.conditions else 0.0,
        "coronary_angiography": 2.0 if "chd" in factors.conditions else 0.1 if factors.age >= 45 else 0.0,
        "hysterectomy": 0.4 if sex == "female" and 30 <= factors.age < 70 else 0.0,
    }
    return rng.choices(tuple(weights), weights=tuple(weights.values()))[0]


def _inside(busy: list[tuple[datetime, datetime]], moment: datetime) -> bool:
    return any(a - timedelta(hours=6) <= moment <= b + timedelta(hours=6) for a, b in busy)


def _simulate_ae_and_outpatients(
    rng: random.Random,
    person: Person,
    clinical: Clinical,
    ids: PersonIds,
    history: History,
    counter: _Counter,
    factors: latent.RiskFactors,
    rate: float,
    t0: date,
    t1: date,
    busy: list[tuple[datetime, datetime]],
) -> None:
    costs = unit_costs()
    days = (t1 - t0).days
    fraction = days / 365.25
    for _ in range(poisson(rng, latent.ae_rate(factors, rate) * fraction)):
        arrival = at_time(t0 + timedelta(days=rng.randrange(days)), rng, 0, 23)
        if _inside(busy, arrival):
            continue
        counter.attendances += 1
        diagnosis, _, complaint = rng.choice(MINOR_AE)
        ambulance = rng.random() < (0.4 if factors.age >= 65 else 0.15)
        history.ae.append(
            AeAttendance(
                attendance_id=f"{ids.attendance_prefix}{counter.attendances:03d}",
                arrival=arrival,
                departure=arrival + timedelta(minutes=rng.randint(45, 420)),
                ambulance=ambulance,
                acuity=rng.choice((3, 3, 4, 4, 4, 5)),
                complaint=complaint,
                diagnosis=diagnosis,
                cost_gbp=costs["ae_attendance"] + costs["ae_ambulance_arrival"] * ambulance,
            )
        )
        busy.append((arrival, arrival + timedelta(hours=8)))
    main = [SPECIALTY_FOR_CONDITION[c] for c in factors.conditions if c in SPECIALTY_FOR_CONDITION]
    for _ in range(poisson(rng, latent.outpatient_rate(factors) * fraction)):
        moment = at_time(t0 + timedelta(days=rng.randrange(days)), rng, 9, 16)
        if moment.weekday() >= 5 or _inside(busy, moment):
            continue
        counter.outpatients += 1
        specialty = rng.choice(main) if main and rng.random() < 0.6 else rng.choice(GENERAL_SPECIALTIES)
        if factors.age < 16:
            specialty = "420"
        first = rng.random() < 0.35
        roll = rng.random()
        attended = "5" if roll < 0.86 else "6" if roll < 0.88 else "3" if roll < 0.95 else "2" if roll < 0.98 else "4"
        seen = attended in ("5", "6")
        cost = costs["outpatient_first" if first else "outpatient_follow_up"] if seen else 0.0
        history.outpatients.append(
            OutpatientAppointment(
                appointment_id=f"{ids.outpatient_prefix}{counter.outpatients:03d}",
                at=moment,
                first=first,
                attended=attended,
                specialty=specialty,
                referral_source="03" if first else "05",
                priority=rng.choice(("1", "1", "1", "2", "3")),
                outcome=rng.choice(("1", "2", "2", "3")) if seen else "2",
                diagnosis=CONDITIONS[factors.conditions[0]].icd10 if factors.conditions and rng.random() < 0.3 else "",
                procedure="-" if rng.random() < 0.85 else "X621",
                cost_gbp=cost,
            )
        )


def _simulate_gp(
    rng: random.Random,
    person: Person,
    clinical: Clinical,
    history: History,
    counter: _Counter,
    factors: latent.RiskFactors,
    hba1c: float,
    t0: date,
    t1: date,
) -> None:
    """The year's consultations: reviews of long-term conditions, new diagnoses, the rest."""
    costs = unit_costs()
    days = (t1 - t0).days
    contacts: list[GpContact] = []
    housebound = "housebound" in clinical.deficits or factors.age >= 90

    def contact(on: date, review: bool) -> GpContact:
        roll = rng.random()
        mode = "home_visit" if housebound and roll < 0.5 else "telephone" if roll < 0.3 else "face_to_face"
        if review and mode == "telephone":
            mode = "face_to_face"
        practice = person.address_on(on)[3]
        counter.gp += 1
        cost_key = {"home_visit": "gp_home_visit", "telephone": "gp_telephone"}.get(mode, "gp_face_to_face")
        item = GpContact(counter.gp, at_time(on, rng, 8, 17), mode, practice, review, cost_gbp=costs[cost_key])
        contacts.append(item)
        return item

    for key, onset in clinical.conditions.items():
        if t0 <= onset < t1:
            item = contact(onset, review=False)
            item.new_conditions.append(CONDITIONS[key].snomed)
            item.prescriptions.extend((d, True) for d in CONDITIONS[key].drugs)
    for key, onset in clinical.deficits.items():
        if t0 <= onset < t1:
            contact(onset, review=False).new_conditions.append(EFI_DEFICITS[key])
    if factors.conditions and days > 60:
        review = contact(t0 + timedelta(days=rng.randrange(days)), review=True)
        review.measurements = _review_measurements(rng, clinical, factors, hba1c)
        review.prescriptions.extend((d, True) for d in repeat_drugs_on(clinical, review.at.date()))
    for _ in range(poisson(rng, latent.gp_rate(factors) * days / 365.25)):
        item = contact(t0 + timedelta(days=rng.randrange(days)), review=False)
        if rng.random() < 0.12:
            item.prescriptions.append((rng.choice(ACUTE_DRUGS), False))
        if factors.age >= 18 and item.mode != "telephone" and rng.random() < 0.15:
            item.measurements.append(_blood_pressure(rng, clinical))
    contacts.sort(key=lambda c: (c.at, c.seq))
    history.gp.extend(contacts)


def _blood_pressure(rng: random.Random, clinical: Clinical) -> Measurement:
    systolic = round(rng.gauss(clinical.systolic_base, 9))
    return Measurement("bp", systolic, round(systolic * 0.6 + rng.gauss(6, 6)))


def _review_measurements(
    rng: random.Random, clinical: Clinical, factors: latent.RiskFactors, hba1c: float
) -> list[Measurement]:
    weight = round(clinical.weight_kg + rng.gauss(0, 1.5), 1)
    found = [
        _blood_pressure(rng, clinical),
        Measurement("weight", weight),
        Measurement("bmi", round(weight / clinical.height_m**2, 1)),
        Measurement("heart_rate", round(rng.gauss(78 if "af" in factors.conditions else 72, 9))),
    ]
    conditions = set(factors.conditions)
    if "diabetes" in conditions:
        found.append(Measurement("hba1c", round(hba1c)))
    if conditions & {"diabetes", "ckd", "hypertension", "heart_failure"}:
        found.append(Measurement("egfr", round(max(5.0, rng.gauss(clinical.egfr_base, 4)))))
    if conditions & {"diabetes", "chd", "stroke"}:
        found.append(Measurement("cholesterol", round(max(2.0, rng.gauss(4.6, 0.9)), 1)))
    return found
