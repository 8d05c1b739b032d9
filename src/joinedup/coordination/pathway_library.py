"""The pathway library: evidence-based pathways kept as versioned data, validated when loaded.

Each file in ``joinedup/coordination/pathways/`` is one version of one pathway (YAML): its steps,
who does each, the expected timing, the decision points, the services each step can be booked
with, the tasks each step starts and the published guidance it follows. A person's pathway
instance keeps the id *and version* it started on, so a new version never rewrites a journey
already under way.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from joinedup.coordination.errors import PathwayError

logger = logging.getLogger(__name__)

PATHWAY_FOLDER = Path(__file__).parent / "pathways"
CENTRE_QUEUE = "coordination-centre"

Priority = Literal["routine", "urgent", "asap", "stat"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GuidanceSource(_Strict):
    """The published guidance a pathway follows (e.g. NICE NG106)."""

    reference: str
    title: str
    url: str


class TaskTemplate(_Strict):
    """A task a step starts: what, for which queue, how urgent, due how soon."""

    kind: str
    title: str
    queue: str = CENTRE_QUEUE
    priority: Priority = "routine"
    due_within_hours: int = Field(gt=0)
    # Service kinds in the directory this task can be booked with; booking it completes the task.
    bookable_service_kinds: tuple[str, ...] = ()


class DecisionOption(_Strict):
    """One answer at a decision point, and the step it leads to (None ends the pathway)."""

    answer: str
    label: str
    next_step: str | None
    # A rule the centre can check against the record, e.g. HbA1c >= 75 mmol/mol.
    when_code: str | None = None
    when_at_least: float | None = None
    when_below: float | None = None


class Decision(_Strict):
    """A decision point at the end of a step."""

    question: str
    options: tuple[DecisionOption, ...] = Field(min_length=2)


class TelehealthThreshold(_Strict):
    """A reading that should raise an alert task (e.g. weight up more than 2 kg in 3 days)."""

    codes: tuple[str, ...] = Field(min_length=1)
    kind: Literal["rise_within_days", "above", "below"]
    amount: float
    days: int | None = None
    unit: str
    label: str


class Step(_Strict):
    """One step of a pathway."""

    step_id: str
    title: str
    performed_by: str
    expected_within_days: int = Field(ge=0)
    tasks: tuple[TaskTemplate, ...] = ()
    bookable_services: tuple[str, ...] = ()
    next_step: str | None = None
    decision: Decision | None = None
    notes: str | None = None


class Pathway(_Strict):
    """One version of a pathway, as written in its YAML file."""

    pathway_id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")
    version: int = Field(ge=1)
    title: str
    summary: str
    sources: tuple[GuidanceSource, ...] = Field(min_length=1)
    entry_criteria: tuple[str, ...] = ()
    first_step: str
    steps: tuple[Step, ...] = Field(min_length=1)
    telehealth_thresholds: tuple[TelehealthThreshold, ...] = ()

    @model_validator(mode="after")
    def _steps_join_up(self) -> Pathway:
        ids = [step.step_id for step in self.steps]
        if len(ids) != len(set(ids)):
            raise ValueError("step ids must be unique")
        known = set(ids)
        if self.first_step not in known:
            raise ValueError(f"first_step {self.first_step!r} is not a step")
        for step in self.steps:
            if step.decision is not None and step.next_step is not None:
                raise ValueError(f"step {step.step_id!r} has both next_step and a decision")
            targets = [step.next_step] if step.decision is None else [o.next_step for o in step.decision.options]
            for target in targets:
                if target is not None and target not in known:
                    raise ValueError(f"step {step.step_id!r} leads to unknown step {target!r}")
        return self

    def step(self, step_id: str) -> Step:
        """The step called ``step_id``."""
        for step in self.steps:
            if step.step_id == step_id:
                return step
        raise PathwayError(f"pathway {self.pathway_id} v{self.version} has no step {step_id!r}")

    def next_step_after(self, step_id: str, decision: str | None = None) -> str | None:
        """The step that follows ``step_id`` (given the answer at a decision point), or None at the end."""
        step = self.step(step_id)
        if step.decision is None:
            return step.next_step
        for option in step.decision.options:
            if option.answer == decision:
                return option.next_step
        answers = ", ".join(option.answer for option in step.decision.options)
        raise PathwayError(
            f"step {step_id!r} of pathway {self.pathway_id} needs a decision: one of {answers}"
        )


class PathwayLibrary:
    """Every version of every pathway, loaded from a folder of YAML files."""

    def __init__(self, pathways: list[Pathway]) -> None:
        self._by_key: dict[tuple[str, int], Pathway] = {}
        for pathway in pathways:
            key = (pathway.pathway_id, pathway.version)
            if key in self._by_key:
                raise PathwayError(f"pathway {pathway.pathway_id} v{pathway.version} is defined twice")
            self._by_key[key] = pathway

    def get(self, pathway_id: str, version: int | None = None) -> Pathway:
        """A pathway by id: the given version, or the latest one.

        Raises:
            PathwayError: no such pathway (or version) in the library.
        """
        if version is not None:
            found = self._by_key.get((pathway_id, version))
            if found is None:
                raise PathwayError(f"pathway {pathway_id!r} has no version {version}")
            return found
        versions = [v for (pid, v) in self._by_key if pid == pathway_id]
        if not versions:
            raise PathwayError(f"no pathway {pathway_id!r} in the library; known: {', '.join(self.ids())}")
        return self._by_key[(pathway_id, max(versions))]

    def ids(self) -> list[str]:
        """The pathway ids in the library, sorted."""
        return sorted({pid for pid, _ in self._by_key})

    def latest(self) -> list[Pathway]:
        """The latest version of every pathway, by id."""
        return [self.get(pathway_id) for pathway_id in self.ids()]


def read_pathway_file(path: Path) -> Pathway:
    """Read and validate one pathway file.

    Raises:
        PathwayError: the file is not valid YAML or does not describe a valid pathway; the message
            names the file and the field paths at fault.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PathwayError(f"pathway file {path.name} is not valid YAML: {exc}") from exc
    try:
        return Pathway.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(top)'}: {error['msg']}"
            for error in exc.errors(include_input=False)
        )
        raise PathwayError(f"pathway file {path.name} is invalid: {problems}") from exc


def load_pathway_library(folder: Path | None = None) -> PathwayLibrary:
    """Load every ``*.yaml`` pathway in ``folder`` (default: the shipped library)."""
    folder = folder or PATHWAY_FOLDER
    pathways = [read_pathway_file(path) for path in sorted(folder.glob("*.yaml"))]
    logger.debug("loaded %d pathway versions from %s", len(pathways), folder)
    return PathwayLibrary(pathways)


@cache
def shipped_library() -> PathwayLibrary:
    """The shipped pathway library, loaded once per process."""
    return load_pathway_library()
