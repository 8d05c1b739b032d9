"""The competency model as data: interventions, the competencies each needs, and the staff."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from joinedup.errors import InvalidInput

DATA = Path(__file__).parent / "data"
M = TypeVar("M", bound=BaseModel)


class Intervention(BaseModel):
    """Something done for a person at home, and what it takes to do it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    competencies: frozenset[str]
    minutes: int = Field(gt=0)
    traditional_profession: str


class InterventionCatalogue(BaseModel):
    """Every intervention the planner knows, by id."""

    model_config = ConfigDict(extra="forbid")

    version: int
    source: str
    interventions: list[Intervention]

    def by_id(self) -> dict[str, Intervention]:
        return {intervention.id: intervention for intervention in self.interventions}


class CareWorker(BaseModel):
    """A member of a neighbourhood team, with what they can do and how long they work."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    worker_id: str
    name: str
    role: str
    competencies: frozenset[str] = frozenset()
    minutes_per_day: int = Field(gt=0)
    base_postcode: str | None = None

    def can_deliver(self, intervention: Intervention) -> bool:
        """True when the worker holds every competency the intervention needs."""
        return intervention.competencies <= self.competencies


class StaffRoster(BaseModel):
    """Roles with their competencies, and the staff in post."""

    model_config = ConfigDict(extra="forbid")

    version: int
    roles: dict[str, frozenset[str]]
    staff: list[dict[str, object]]

    @model_validator(mode="after")
    def roles_exist(self) -> StaffRoster:
        unknown = {str(member["role"]) for member in self.staff} - set(self.roles)
        if unknown:
            raise ValueError(f"staff with unknown roles: {', '.join(sorted(unknown))}")
        return self

    def workers(self, *, base_postcode: str | None = None) -> list[CareWorker]:
        """The staff as workers, each given their role's competencies."""
        return [
            CareWorker.model_validate(
                {"base_postcode": base_postcode, **member, "competencies": self.roles[str(member["role"])]}
            )
            for member in self.staff
        ]


def _load(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{path.name}: cannot be read as YAML ({type(exc).__name__})") from exc


def _validated(model: type[M], path: Path) -> M:
    try:
        return model.model_validate(_load(path))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_input=False)
        )
        raise InvalidInput(f"{path.name}: {problems}") from exc


@cache
def intervention_catalogue(path: Path = DATA / "interventions.yml") -> InterventionCatalogue:
    """Load and validate the intervention catalogue (cached per file)."""
    return _validated(InterventionCatalogue, path)


def staff_roster(path: Path = DATA / "example_staff.yml") -> StaffRoster:
    """Load and validate a staff roster; unknown roles are refused."""
    return _validated(StaffRoster, path)
