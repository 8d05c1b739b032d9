"""The people of the borough: who they are, where they live, where they are registered, and when
they arrive (at the start, by birth, by moving in) and leave (moving away; deaths come from the
latent model in ``activity``)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from joinedup.synth.borough import Borough, SmallArea, draw_address_line, draw_postcode, town_of
from joinedup.synth.names import draw_names

# Age bands (lower, upper inclusive) and their share of residents at the start.
AGE_STRUCTURE = (
    (0, 4, 0.058),
    (5, 17, 0.162),
    (18, 29, 0.130),
    (30, 44, 0.205),
    (45, 64, 0.260),
    (65, 74, 0.095),
    (75, 84, 0.065),
    (85, 99, 0.025),
)
# People who move in are mostly young adults.
INCOMER_AGE_STRUCTURE = ((0, 4, 0.08), (5, 17, 0.10), (18, 29, 0.40), (30, 44, 0.30), (45, 64, 0.09), (65, 99, 0.03))
BIRTHS_PER_1000 = 11.0
MOVES_IN_PER_1000 = 35.0
PRACTICE_CHANGES_PER_1000 = 30.0

_ETHNICITY_NORTH = {"A": .55, "B": .02, "C": .05, "D": .02, "F": .02, "H": .04, "J": .10, "K": .02, "L": .03,
                    "M": .04, "N": .04, "R": .02, "S": .03, "Z": .02}
_ETHNICITY_OTHER = {"A": .82, "B": .02, "C": .05, "D": .01, "F": .01, "H": .03, "J": .02, "K": .005, "L": .01,
                    "M": .005, "N": .005, "R": .01, "S": .01, "Z": .02}


@dataclass(slots=True)
class Move:
    """A change of address within the borough, perhaps with a change of practice."""

    move_date: date
    small_area: SmallArea
    postcode: str
    address_line: str
    practice_code: str


@dataclass(slots=True)
class Person:
    """One true person, as the ground truth knows them."""

    index: int
    person_id: str
    nhs_number: str
    given_name: str
    family_name: str
    sex: str  # male | female
    birth_date: date
    ethnic_category: str
    small_area: SmallArea
    postcode: str
    address_line: str
    practice_code: str
    lives_alone: bool
    opted_out: bool
    resident_from: date
    resident_to: date | None
    moves: list[Move] = field(default_factory=list)
    death_date: date | None = None
    death_in_hospital: bool = False

    def age_on(self, day: date) -> int:
        """Age in whole years on a day."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    def left_on(self) -> date | None:
        """The day the person stops being part of the borough (death or moving away)."""
        days = [d for d in (self.death_date, self.resident_to) if d is not None]
        return min(days) if days else None

    def address_on(self, day: date) -> tuple[SmallArea, str, str, str]:
        """(small area, postcode, address line, practice) on a day, after any moves."""
        current = (self.small_area, self.postcode, self.address_line, self.practice_code)
        for move in self.moves:
            if move.move_date <= day:
                current = (move.small_area, move.postcode, move.address_line, move.practice_code)
        return current


def population_counts(people: int, years: int) -> tuple[int, int]:
    """How many births and incomers an economy of ``people`` residents has over ``years``."""
    births = round(people * BIRTHS_PER_1000 / 1000 * years)
    incomers = round(people * MOVES_IN_PER_1000 / 1000 * years)
    return births, incomers


def draw_person(
    rng: random.Random,
    index: int,
    *,
    nhs_number: str,
    borough: Borough,
    start: date,
    end: date,
    residents: int,
    births: int,
) -> Person:
    """Draw person ``index``: the first ``residents`` live here at the start, the next ``births``
    are born during the period, the rest move in during it."""
    period_days = (end - start).days
    if index < residents:
        resident_from = start
        birth_date = _draw_birth_date(rng, AGE_STRUCTURE, start)
    elif index < residents + births:
        birth_date = start + timedelta(days=rng.randrange(period_days))
        resident_from = birth_date
    else:
        resident_from = start + timedelta(days=rng.randrange(period_days))
        birth_date = _draw_birth_date(rng, INCOMER_AGE_STRUCTURE, resident_from)
    age_at_start = max(0, (resident_from - birth_date).days // 365)
    sex = _draw_sex(rng, age_at_start)
    area = rng.choices(borough.small_areas, weights=borough.small_area_weights)[0]
    shares = _ETHNICITY_NORTH if area.neighbourhood == "North" else _ETHNICITY_OTHER
    ethnic = rng.choices(tuple(shares), weights=tuple(shares.values()))[0]
    given, family = draw_names(rng, sex, ethnic)
    practice = rng.choice(borough.practices_by_neighbourhood[area.neighbourhood])
    lives_alone = age_at_start >= 18 and rng.random() < _lives_alone_share(age_at_start)
    person = Person(
        index=index,
        person_id=f"T{index + 1:07d}",
        nhs_number=nhs_number,
        given_name=given,
        family_name=family,
        sex=sex,
        birth_date=birth_date,
        ethnic_category=ethnic,
        small_area=area,
        postcode=draw_postcode(rng, area.postcode_district),
        address_line=draw_address_line(rng),
        practice_code=practice,
        lives_alone=lives_alone,
        opted_out=rng.random() < (0.035 if age_at_start >= 18 else 0.015),
        resident_from=resident_from,
        resident_to=_draw_move_away(rng, resident_from, end, age_at_start),
    )
    person.moves = _draw_moves(rng, person, borough, end)
    return person


def _draw_birth_date(rng: random.Random, structure: tuple[tuple[int, int, float], ...], on: date) -> date:
    low, high, _ = rng.choices(structure, weights=[s for _, _, s in structure])[0]
    age_days = rng.randrange(low * 365, (high + 1) * 365)
    return on - timedelta(days=age_days)


def _draw_sex(rng: random.Random, age: int) -> str:
    female_share = 0.49 if age < 60 else 0.52 if age < 75 else 0.57 if age < 85 else 0.65
    return "female" if rng.random() < female_share else "male"


def _lives_alone_share(age: int) -> float:
    return 0.10 if age < 45 else 0.15 if age < 65 else 0.28 if age < 75 else 0.38 if age < 85 else 0.45


def _draw_move_away(rng: random.Random, resident_from: date, end: date, age: int) -> date | None:
    rate = 0.035 if 18 <= age < 45 else 0.02
    days = (end - resident_from).days
    if days <= 0 or rng.random() >= 1 - (1 - rate) ** (days / 365.25):
        return None
    return resident_from + timedelta(days=rng.randrange(days))


def _draw_moves(rng: random.Random, person: Person, borough: Borough, end: date) -> list[Move]:
    last = person.resident_to or end
    days = (last - person.resident_from).days
    if days <= 30 or rng.random() >= 1 - (1 - PRACTICE_CHANGES_PER_1000 / 1000) ** (days / 365.25):
        return []
    area = rng.choices(borough.small_areas, weights=borough.small_area_weights)[0]
    practices = borough.practices_by_neighbourhood[area.neighbourhood]
    choices = [p for p in practices if p != person.practice_code] or list(practices)
    return [
        Move(
            move_date=person.resident_from + timedelta(days=rng.randrange(30, days)),
            small_area=area,
            postcode=draw_postcode(rng, area.postcode_district),
            address_line=draw_address_line(rng),
            practice_code=rng.choice(choices),
        )
    ]


def town_for(area: SmallArea) -> str:
    """The town line of an address in this small area."""
    return town_of(area.neighbourhood)
