"""Layouts: one YAML mapping file per source layout, so a new extract is configuration, not code.

A layout names the columns that identify its files, the record source whose ids it carries, how
to build the patient, and one or more record rows per extract row. Every value is a *field spec*::

    COLUMN                       # shorthand: the column's text
    {column: ADMIDATE, type: date}
    {column: SEX, map: {"1": male, "2": female, "9": unknown}}     # unknown code → quarantine
    {constant: inpatient}
    {template: "{SUSSPELLID}/diag/{n}"}
    {column: value, type: float, min: 0.1, max: 400}               # outside → impossible_value
    {column: DIAG_01, pattern: "^[A-Z][0-9]{2}[0-9A-Z]?$"}          # no match → unknown_code
    {column: reason_code, type: snomed}                            # not a SNOMED CT id → unknown_code

Options: ``required`` (missing → ``missing_field``), ``null_values`` (``["-"]``), ``time_column``
(a date and a time column make one date-time), ``ranges`` (per-code min/max, keyed by another field).
Layouts are validated when loaded (pydantic); ``docs/feeds.md`` describes them for data engineers.
"""

from __future__ import annotations

import fnmatch
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

try:  # libyaml's reader when built in: the same safe loading, about ten times faster
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

LAYOUT_FOLDER = Path(__file__).parent / "layouts"

FieldType = Literal["text", "date", "datetime", "int", "float", "code", "snomed", "bool"]


class FieldSpec(BaseModel):
    """How to get one value from an extract row."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None
    constant: Any = None
    template: str | None = None
    type: FieldType = "text"
    map: dict[str, Any] | None = None
    default: Any = None
    pattern: str | None = None
    required: bool = False
    null_values: tuple[str, ...] = ("",)
    min: float | None = None
    max: float | None = None
    time_column: str | None = None
    length: int | None = None
    # A value that may or may not convert (Synthea VALUE: a number or text): None when it does not.
    lenient: bool = False
    # Per-code plausible ranges: {"by": "code-field", "ranges": {"29463-7": [0.3, 400]}}.
    ranges_by: str | None = None
    ranges: dict[str, tuple[float, float]] | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


def _spec(value: Any) -> FieldSpec:
    if isinstance(value, str):
        return FieldSpec(column=value)
    if isinstance(value, dict):
        return FieldSpec(**value)
    return FieldSpec(constant=value)


class RecordSpec(BaseModel):
    """One record row (or one per repeated column) built from each extract row."""

    model_config = ConfigDict(extra="forbid")

    table: Literal["encounter", "condition", "observation", "medication", "allergy", "procedure", "care_document"]
    id: str
    # Build one row per listed column that has a value; ``{n}`` (1-based) and ``{value}`` in templates.
    repeat: list[str] | None = None
    encounter_id: str | None = None
    # Skip the row when this field is empty (e.g. no DIAG_01 given).
    when: str | None = None
    values: dict[str, FieldSpec]

    @field_validator("values", mode="before")
    @classmethod
    def _specs(cls, value: dict[str, Any]) -> dict[str, FieldSpec]:
        return {name: _spec(spec) for name, spec in value.items()}


class EventSpec(BaseModel):
    """An outbox event written for each accepted row."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    occurred_at: FieldSpec | None = None
    payload: dict[str, FieldSpec] = Field(default_factory=dict)

    @field_validator("payload", mode="before")
    @classmethod
    def _specs(cls, value: dict[str, Any]) -> dict[str, FieldSpec]:
        return {name: _spec(spec) for name, spec in value.items()}

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _spec_when(cls, value: Any) -> FieldSpec | None:
        return None if value is None else _spec(value)


class Layout(BaseModel):
    """A source layout: which files it reads and how each row maps to the store."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    # Files whose header holds all these columns (and whose name matches ``file_glob``) use it.
    columns: list[str]
    file_glob: str | None = None
    file_format: Literal["csv", "jsonl"] = "csv"
    # The system that owns the ids: a name, or "{feed}" for the feed's own source.
    record_source: str = "{feed}"
    message_id: str
    sent_at: FieldSpec | None = None
    patient: dict[str, FieldSpec]
    records: list[RecordSpec] = Field(default_factory=list)
    events: list[EventSpec] = Field(default_factory=list)

    @field_validator("patient", mode="before")
    @classmethod
    def _specs(cls, value: dict[str, Any]) -> dict[str, FieldSpec]:
        return {name: _spec(spec) for name, spec in value.items()}

    @field_validator("sent_at", mode="before")
    @classmethod
    def _spec_when(cls, value: Any) -> FieldSpec | None:
        return None if value is None else _spec(value)

    def matches(self, header: list[str], file_name: str) -> bool:
        """True when a file with this header and name is in this layout."""
        if self.file_glob and not fnmatch.fnmatch(file_name, self.file_glob):
            return False
        return set(self.columns) <= set(header)


def load_layout(path: Path) -> Layout:
    """Read and validate one layout file."""
    with path.open(encoding="utf-8") as handle:
        return Layout(**yaml.load(handle, Loader=SafeLoader))


@cache
def all_layouts(folder: Path = LAYOUT_FOLDER) -> tuple[Layout, ...]:
    """Every layout in the folder, by name."""
    return tuple(load_layout(path) for path in sorted(folder.glob("*.yaml")))


def layout_named(name: str) -> Layout | None:
    """The layout called ``name``, if there is one."""
    return next((layout for layout in all_layouts() if layout.name == name), None)


def choose_layout(header: list[str], file_name: str) -> Layout | None:
    """The layout for a file: the one matching the most columns of its header."""
    candidates = [layout for layout in all_layouts() if layout.matches(header, file_name)]
    if not candidates:
        return None
    return max(candidates, key=lambda layout: (len(layout.columns), layout.file_glob is not None))
