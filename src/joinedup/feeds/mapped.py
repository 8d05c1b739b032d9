"""What an adapter hands the pipeline: one message, mapped to rows of the store, not yet written.

Adapters produce plain dicts (fast to build, cheap to merge); the pipeline resolves keys to ids,
merges with what the store already holds, and writes everything for a batch in one transaction.

Keys are in the *record source*'s terms: a patient is ``(source, local_id)``, a record item is
``(source, source_record_id)``, where the record source is the system that owns those ids (the
trust's PAS for both ADT and SUS extracts, so one hospital spell stays one encounter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PatientKey = tuple[str, str]
RecordKey = tuple[str, str]


class _Clear:
    """A value meaning "set this column to NULL" (a cancelled discharge clears ``end_at``).

    A plain ``None`` means "this message says nothing about the column".
    """

    _instance: _Clear | None = None

    def __new__(cls) -> _Clear:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "CLEAR"


CLEAR: Any = _Clear()


@dataclass(frozen=True, slots=True)
class Fill:
    """A value that only fills an empty column, even from the newest message.

    An A08 says nothing about whether the patient is still in: its inferred status may start a
    row that does not exist yet, but must never overwrite what an A03 said.
    """

    value: Any

# The record tables an adapter may fill, in the order they are written (encounters first: others point at them).
RECORD_TABLES = (
    "encounter",
    "condition",
    "observation",
    "medication",
    "allergy",
    "procedure",
    "care_document",
)


@dataclass(slots=True)
class RecordRow:
    """One row for a record table, keyed by ``(source, source_record_id)`` inside ``values``."""

    table: str
    values: dict[str, Any]
    patient: PatientKey
    # The encounter this item was recorded in, if the message says.
    encounter: RecordKey | None = None

    @property
    def key(self) -> RecordKey:
        """``(source, source_record_id)``."""
        return (self.values["source"], self.values["source_record_id"])


@dataclass(slots=True)
class OutboxNote:
    """News for higher layers (``adt.admit``, ``telehealth.reading``...) about one patient."""

    kind: str
    patient: PatientKey | None
    payload: dict[str, Any]
    occurred_at: datetime | None = None
    # A second patient the news is about (the retired MRN of a merge).
    other_patient: PatientKey | None = None


@dataclass(slots=True)
class MappedMessage:
    """One message read and mapped: its id, when the sender says it was sent, and its rows.

    ``patients`` are ``source_patient`` values with ``source`` and ``local_id``; the NHS number is
    given raw in ``nhs_number_given`` and checked by the pipeline (an invalid one is kept, with its
    status, not quarantined). ``ignored`` counts parts with nowhere to go (a Practitioner in a bundle).
    """

    message_id: str
    message_type: str | None = None
    sent_at: datetime | None = None
    patients: list[dict[str, Any]] = field(default_factory=list)
    records: list[RecordRow] = field(default_factory=list)
    events: list[OutboxNote] = field(default_factory=list)
    # Field path of the NHS number per patient key, for the reason text of a bad one.
    nhs_number_paths: dict[PatientKey, str] = field(default_factory=dict)
    ignored: int = 0

    def add_patient(self, values: dict[str, Any], *, nhs_number_path: str | None = None) -> PatientKey:
        """Add (or extend) a patient of this message and return its key."""
        key: PatientKey = (values["source"], values["local_id"])
        for existing in self.patients:
            if (existing["source"], existing["local_id"]) == key:
                existing.update({name: value for name, value in values.items() if value is not None})
                break
        else:
            self.patients.append(values)
        if nhs_number_path:
            self.nhs_number_paths[key] = nhs_number_path
        return key
