"""Access and consent policies as data: YAML files validated on load, versioned, never ``if``s.

``policies/access.yml`` says which role, holding which relationship with a person, may do what to
which resource type, for which purpose, seeing which fields and whether sealed items. ``policies/
consent.yml`` says, per secondary-use purpose, whether the national data opt-out applies, how
fresh the cleaned list must be and which local objections are honoured.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from joinedup.errors import InvalidInput
from joinedup.model import ROLES

POLICY_DIR = Path(__file__).parent / "policies"
ACCESS_POLICY_PATH = POLICY_DIR / "access.yml"
CONSENT_POLICY_PATH = POLICY_DIR / "consent.yml"

RELATIONSHIPS = (
    "registered_practice",
    "care_team",
    "coordination",
    "admission",
    "discharge_service",
    "self",
    "break_glass",
    "system",
    "none",
)
# Relationship kinds a team can be granted with grant_relationship.
GRANTED_RELATIONSHIPS = ("care_team", "coordination", "discharge_service")
LOCAL_OBJECTION_KINDS = ("type_1", "consent_directive")

Names = Annotated[list[str], Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HospitalRule(_Strict):
    """When hospital staff hold the ``admission`` relationship."""

    settings: Names
    in_progress_statuses: Names
    grace_hours: int = Field(ge=0, le=24 * 14)


class BreakGlassRule(_Strict):
    """Who may break the glass, for how long, with how much reason."""

    roles: list[str]
    minutes: int = Field(gt=0, le=24 * 60)
    min_reason_length: int = Field(ge=1)


class AccessRule(_Strict):
    """One grant: these roles, holding one of these relationships, may do these actions."""

    name: str
    roles: Names
    relationships: Names
    resources: Names
    actions: Names
    purposes: Names = ["direct_care"]
    # Field-set names or field names; None = every field.
    fields: list[str] | None = None
    sealed: bool = False


class AccessPolicy(_Strict):
    """The whole access policy, checked for unknown roles, relationships, resources and field sets."""

    version: str
    registered_practice_sources: Names
    hospital: HospitalRule
    break_glass: BreakGlassRule
    sensitive_known_to: list[str]
    resource_types: Names
    actions: Names
    field_sets: dict[str, list[str]]
    groups: dict[str, list[str]] = {}
    rules: list[AccessRule] = []

    @model_validator(mode="after")
    def _names_are_known(self) -> AccessPolicy:
        problems: list[str] = []
        known_resources = set(self.resource_types) | set(self.groups) | {"*"}
        for group, members in self.groups.items():
            problems += [f"group {group}: unknown resource {m!r}" for m in members if m not in self.resource_types]
        for role in self.break_glass.roles:
            if role not in ROLES:
                problems.append(f"break_glass: unknown role {role!r}")
        for relationship in self.sensitive_known_to:
            if relationship not in RELATIONSHIPS:
                problems.append(f"sensitive_known_to: unknown relationship {relationship!r}")
        for rule in self.rules:
            where = f"rule {rule.name!r}"
            problems += [f"{where}: unknown role {r!r}" for r in rule.roles if r not in ROLES]
            problems += [f"{where}: unknown relationship {r!r}" for r in rule.relationships if r not in RELATIONSHIPS]
            problems += [f"{where}: unknown resource {r!r}" for r in rule.resources if r not in known_resources]
            problems += [f"{where}: unknown action {a!r}" for a in rule.actions if a not in self.actions and a != "*"]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def expand_resources(self, names: list[str]) -> frozenset[str]:
        """The resource types a rule's ``resources`` list names (groups expanded, ``*`` = all)."""
        expanded: set[str] = set()
        for name in names:
            if name == "*":
                expanded.update(self.resource_types)
            else:
                expanded.update(self.groups.get(name, [name]))
        return frozenset(expanded)

    def expand_fields(self, names: list[str] | None) -> frozenset[str] | None:
        """The field names a rule's ``fields`` list names (field sets expanded; None = all)."""
        if names is None:
            return None
        expanded: set[str] = set()
        for name in names:
            expanded.update(self.field_sets.get(name, [name]))
        return frozenset(expanded)


class PurposeRule(_Strict):
    """How one secondary-use purpose treats opt-outs and objections."""

    description: str = ""
    national_opt_out: bool = True
    cleaned_list_max_age_days: int = Field(default=31, gt=0)
    # Local objection kinds honoured; the default honours them all (excludes).
    honour_local: list[str] = list(LOCAL_OBJECTION_KINDS)

    @model_validator(mode="after")
    def _known_kinds(self) -> PurposeRule:
        unknown = [kind for kind in self.honour_local if kind not in LOCAL_OBJECTION_KINDS]
        if unknown:
            raise ValueError(f"unknown local objection kind(s): {', '.join(unknown)}")
        return self


class ConsentPolicy(_Strict):
    """Per purpose: the national opt-out, the cleaned list's freshness, local objections."""

    version: str
    purposes: dict[str, PurposeRule]

    @model_validator(mode="after")
    def _no_direct_care(self) -> ConsentPolicy:
        if "direct_care" in self.purposes:
            raise ValueError("direct_care is not a secondary use; opt-outs never apply to it")
        return self

    def purpose(self, name: str) -> PurposeRule:
        """The rule for ``name``.

        Raises:
            InvalidInput: the purpose is not in the policy (no secondary use without one).
        """
        try:
            return self.purposes[name]
        except KeyError:
            raise InvalidInput(
                f"purpose {name!r} is not in the consent policy (version {self.version}); "
                f"known: {', '.join(sorted(self.purposes))}"
            ) from None


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"policy file {path} cannot be read: {exc}") from exc


def _validation_message(path: Path, exc: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or '(top)'}: {error['msg']}"
        for error in exc.errors(include_input=False)
    )
    return f"policy file {path} is not valid: {problems}"


@functools.lru_cache(maxsize=8)
def load_access_policy(path: Path = ACCESS_POLICY_PATH) -> AccessPolicy:
    """Read and validate an access policy file (cached per path).

    Raises:
        InvalidInput: the file is missing, not YAML, or names unknown roles/relationships/resources.
    """
    try:
        return AccessPolicy.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise InvalidInput(_validation_message(path, exc)) from exc


@functools.lru_cache(maxsize=8)
def load_consent_policy(path: Path = CONSENT_POLICY_PATH) -> ConsentPolicy:
    """Read and validate a consent policy file (cached per path).

    Raises:
        InvalidInput: the file is missing, not YAML, or invalid.
    """
    try:
        return ConsentPolicy.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise InvalidInput(_validation_message(path, exc)) from exc
