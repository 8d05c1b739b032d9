"""The place: four neighbourhoods, their small areas (LSOAs) and deprivation, GP practices and the
borough-wide organisations. Fixed by the seed, identical for every person drawn in it."""

from __future__ import annotations

import random
from dataclasses import dataclass

BOROUGH_NAME = "Synthford"
NEIGHBOURHOODS = ("North", "Central", "South", "West")

# Share of residents, and the IMD decile weights of their small areas (decile 1 = most deprived).
_NEIGHBOURHOOD_SHAPE: dict[str, tuple[float, tuple[float, ...]]] = {
    "North": (0.28, (0.16, 0.16, 0.14, 0.12, 0.10, 0.09, 0.08, 0.06, 0.05, 0.04)),
    "Central": (0.26, (0.04, 0.06, 0.08, 0.10, 0.12, 0.14, 0.14, 0.12, 0.10, 0.10)),
    "South": (0.24, (0.01, 0.02, 0.03, 0.05, 0.07, 0.10, 0.13, 0.17, 0.20, 0.22)),
    "West": (0.22, (0.06, 0.08, 0.10, 0.12, 0.13, 0.13, 0.12, 0.10, 0.09, 0.07)),
}
# Postcode districts by neighbourhood (shaped like a Greater Manchester borough's).
_POSTCODE_DISTRICTS = {
    "North": ("M16", "M32", "M17"),
    "Central": ("M33", "M31"),
    "South": ("WA14", "WA15"),
    "West": ("M41", "M44"),
}
_TOWNS = {"North": "Stretbury", "Central": "Salebrook", "South": "Altham", "West": "Urmford"}
_STREETS = (
    "Church Road", "Station Road", "Park Avenue", "Victoria Street", "Manchester Road", "Moss Lane",
    "Chester Road", "Queens Road", "Green Lane", "Oak Avenue", "Mill Lane", "Brook Street",
    "Derbyshire Lane", "Hale Road", "Washway Road", "Northenden Road", "Flixton Road", "Barton Road",
    "Cross Street", "School Lane", "Elm Grove", "Ash Close", "Beech Road", "Cedar Drive",
    "Hawthorn Way", "Willow Bank", "Meadow Close", "Grange Road", "Marsland Road", "Woodlands Road",
)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

LSOA_COUNT = 140
PRACTICES_PER_NEIGHBOURHOOD = (10, 9, 8, 7)
ACUTE_TRUST = "RZZ"
ACUTE_SITE = "RZZ01"
COMMUNITY_PROVIDER = "RZY"
LOCAL_AUTHORITY = "ZLA01"
COORDINATION_CENTRE = "ZCC01"
VOLUNTARY_ORGS = ("ZVS01", "ZVS02")


@dataclass(frozen=True, slots=True)
class SmallArea:
    """One LSOA: where a person lives, how deprived it is."""

    lsoa_code: str
    name: str
    imd_decile: int
    neighbourhood: str
    postcode_district: str


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation in the reference list."""

    org_code: str
    name: str
    kind: str
    neighbourhood: str
    postcode: str
    parent_org_code: str = ""


@dataclass(frozen=True, slots=True)
class Borough:
    """The whole place, with what person draws need precomputed."""

    small_areas: tuple[SmallArea, ...]
    small_area_weights: tuple[float, ...]
    organisations: tuple[Organisation, ...]
    practices_by_neighbourhood: dict[str, tuple[str, ...]]

    def practices(self) -> tuple[Organisation, ...]:
        """The GP practices, in code order."""
        return tuple(o for o in self.organisations if o.kind == "gp_practice")


def draw_postcode(rng: random.Random, district: str) -> str:
    """A made-up postcode in the district, e.g. ``M33 4XY``."""
    return f"{district} {rng.randint(1, 9)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"


def draw_address_line(rng: random.Random) -> str:
    """A house number and street."""
    return f"{rng.randint(1, 180)} {rng.choice(_STREETS)}"


def town_of(neighbourhood: str) -> str:
    """The town name used in addresses for the neighbourhood."""
    return _TOWNS[neighbourhood]


def build_borough(seed: int) -> Borough:
    """Lay out the borough: LSOAs with deprivation, practices, the other organisations."""
    rng = random.Random(seed * 7919 + 11)  # noqa: S311 - reproducible simulation, not security
    areas: list[SmallArea] = []
    weights: list[float] = []
    counts = _lsoa_counts()
    number = 0
    for neighbourhood in NEIGHBOURHOODS:
        share, decile_weights = _NEIGHBOURHOOD_SHAPE[neighbourhood]
        for k in range(counts[neighbourhood]):
            number += 1
            decile = rng.choices(range(1, 11), weights=decile_weights)[0]
            district = _POSTCODE_DISTRICTS[neighbourhood][k % len(_POSTCODE_DISTRICTS[neighbourhood])]
            areas.append(
                SmallArea(
                    lsoa_code=f"E0199{number:04d}",
                    name=f"{BOROUGH_NAME} {(number - 1) // 4 + 1:03d}{'ABCD'[(number - 1) % 4]}",
                    imd_decile=decile,
                    neighbourhood=neighbourhood,
                    postcode_district=district,
                )
            )
            weights.append(share / counts[neighbourhood] * rng.uniform(0.8, 1.2))
    organisations, by_neighbourhood = _organisations(rng)
    return Borough(tuple(areas), tuple(weights), organisations, by_neighbourhood)


def _lsoa_counts() -> dict[str, int]:
    counts = {n: round(LSOA_COUNT * _NEIGHBOURHOOD_SHAPE[n][0]) for n in NEIGHBOURHOODS}
    counts["North"] += LSOA_COUNT - sum(counts.values())
    return counts


def _organisations(rng: random.Random) -> tuple[tuple[Organisation, ...], dict[str, tuple[str, ...]]]:
    orgs: list[Organisation] = []
    by_neighbourhood: dict[str, tuple[str, ...]] = {}
    number = 0
    surgery_names = ("Medical Centre", "Surgery", "Health Centre", "Family Practice", "Group Practice")
    for neighbourhood, count in zip(NEIGHBOURHOODS, PRACTICES_PER_NEIGHBOURHOOD, strict=True):
        codes = []
        for _ in range(count):
            number += 1
            code = f"Z99{number:03d}"
            codes.append(code)
            street = rng.choice(_STREETS).split()[0]
            district = rng.choice(_POSTCODE_DISTRICTS[neighbourhood])
            orgs.append(
                Organisation(
                    code,
                    f"{street} {rng.choice(surgery_names)}",
                    "gp_practice",
                    neighbourhood,
                    draw_postcode(rng, district),
                )
            )
        by_neighbourhood[neighbourhood] = tuple(codes)
    orgs.extend(
        (
            Organisation(ACUTE_TRUST, f"{BOROUGH_NAME} Hospitals NHS Foundation Trust", "acute_trust", "", "M41 5SL"),
            Organisation(
                COMMUNITY_PROVIDER, f"{BOROUGH_NAME} Community Health Services", "community_provider", "", "M33 7UX"
            ),
            Organisation(LOCAL_AUTHORITY, f"{BOROUGH_NAME} Council Social Care", "local_authority", "", "M32 0TH"),
            Organisation(VOLUNTARY_ORGS[0], f"Age Friendly {BOROUGH_NAME}", "voluntary", "", "M33 3ZZ"),
            Organisation(VOLUNTARY_ORGS[1], f"{BOROUGH_NAME} Home from Hospital", "voluntary", "", "WA14 1EN"),
            Organisation(
                COORDINATION_CENTRE, f"{BOROUGH_NAME} Care Coordination Centre", "coordination_centre", "", "M33 7ZF"
            ),
        )
    )
    return tuple(orgs), by_neighbourhood
