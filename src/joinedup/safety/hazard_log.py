"""The hazard log as data: one YAML file per hazard in ``docs/clinical-safety/hazards/``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from joinedup.errors import InvalidInput
from joinedup.safety.risk_matrix import Likelihood, Severity, risk_rating


class RiskAssessment(BaseModel):
    """Severity and likelihood of harm, and the rating they give."""

    model_config = ConfigDict(extra="forbid")

    severity: Severity
    likelihood: Likelihood
    rating: int = Field(ge=1, le=5)

    @model_validator(mode="after")
    def rating_follows_the_matrix(self) -> RiskAssessment:
        expected = risk_rating(self.severity, self.likelihood)
        if self.rating != expected:
            raise ValueError(
                f"rating {self.rating} does not match the DCB0129 matrix for {self.severity} × "
                f"{self.likelihood} (expected {expected})"
            )
        return self


class Control(BaseModel):
    """A measure that reduces the hazard, with the tests that prove it works."""

    model_config = ConfigDict(extra="forbid")

    description: str
    # "design" (built into joinedup), "test" or "training"/"process" (for the deploying organisation).
    kind: Literal["design", "process", "training"] = "design"
    tests: list[str] = Field(default_factory=list, description="pytest node ids: tests/path.py::test_name")


class Hazard(BaseModel):
    """One hazard: what could go wrong, how it would harm a patient, and what controls it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^HAZ-\d{3}$")
    title: str
    description: str
    cause: str
    effect: str
    patient_harm: str
    initial_risk: RiskAssessment
    controls: list[Control] = Field(min_length=1)
    residual_risk: RiskAssessment
    status: Literal["open", "closed", "transferred"]
    owner: str
    justification: str | None = None


def load_hazard_log(folder: Path) -> list[Hazard]:
    """Read and validate every ``HAZ-*.yml`` in ``folder``, in id order.

    Raises:
        InvalidInput: a file is not valid YAML or not a valid hazard (file name and field path given).
    """
    hazards = []
    for path in sorted(folder.glob("HAZ-*.yml")):
        try:
            hazard = Hazard.model_validate(yaml.safe_load(path.read_text()))
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{path.name}: not valid YAML ({exc})") from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors(include_input=False)
            )
            raise InvalidInput(f"{path.name}: {problems}") from exc
        if path.stem != hazard.id:
            raise InvalidInput(f"{path.name}: file name does not match its id {hazard.id}")
        hazards.append(hazard)
    return hazards
