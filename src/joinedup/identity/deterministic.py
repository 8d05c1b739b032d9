"""The deterministic path: a valid NHS number with a consistent date of birth links at once.

Called by feeds inside the ingest transaction for thousands of rows per batch, so every step is
set-based: one query loads the batch, one finds the persons already holding those NHS numbers, and
the writes are bulk inserts/updates. Records without a usable NHS number (or whose NHS number
belongs to someone with a different date of birth: a likely wrong number) are left for the
probabilistic path.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    bindparam,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from joinedup.store.tables.base import utc_now
from joinedup.store.tables.identity import Person, PersonLinkEvent, SourcePatient

logger = logging.getLogger(__name__)

# Keeps IN (...) lists well under SQLite's and psycopg's parameter limits.
CHUNK = 5000


@dataclass
class LinkSummary:
    """What one call to link source patients did (counts only; no identifiers)."""

    considered: int = 0
    already_linked: int = 0
    linked_by_nhs_number: int = 0
    new_persons: int = 0
    linked_probabilistically: int = 0
    queued_for_review: int = 0
    left_unlinked: int = 0
    # source_patient_id -> person_id for everything linked by this call.
    links: dict[int, str] = field(default_factory=dict)
    # Records that still need the probabilistic path (no usable NHS number, or a DOB conflict).
    unresolved: list[int] = field(default_factory=list)
    # Records that started a new person from an NHS number nobody held yet (cross-checked later).
    new_by_number: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """The counts, for logs and the CLI."""
        return {
            "considered": self.considered,
            "already_linked": self.already_linked,
            "linked_by_nhs_number": self.linked_by_nhs_number,
            "new_persons": self.new_persons,
            "linked_probabilistically": self.linked_probabilistically,
            "queued_for_review": self.queued_for_review,
            "left_unlinked": self.left_unlinked,
        }


def new_person_id() -> str:
    """An opaque person id: a random uuid4 in hex (no meaning, no order, never reused)."""
    return uuid.uuid4().hex


def chunked(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """Split a sequence into slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _name(value: str | None) -> str:
    return (value or "").strip().casefold()


def birth_dates_consistent(a: date | None, b: date | None) -> bool:
    """Exactly the same date of birth, or one of them unknown."""
    return a is None or b is None or a == b


def birth_dates_swapped(a: date, b: date) -> bool:
    """The same date with day and month swapped (a classic keying error)."""
    return a.day == b.month and a.month == b.day and a.year == b.year


def birth_dates_near(a: date, b: date) -> bool:
    """Only one of year/month/day differs (a keying error)."""
    differing = (a.year != b.year) + (a.month != b.month) + (a.day != b.day)
    return differing == 1


@dataclass(frozen=True, slots=True)
class _Known:
    """One already-linked record holding an NHS number we are looking for."""

    person_id: str
    birth_date: date | None
    given_name: str
    family_name: str
    postcode: str


def _postcode(value: str | None) -> str:
    return (value or "").replace(" ", "").upper()


def _same_person(new: Row[Any], known: Sequence[_Known]) -> bool:
    """Whether a new record fits a person's records with the same NHS number.

    The same date of birth (or none on either side) is enough, and so is the same date with day
    and month swapped. A date with one other part keyed wrongly also needs a name or the postcode
    to agree. Anything further apart means the number is probably someone else's.
    """
    for record in known:
        if birth_dates_consistent(new.birth_date, record.birth_date):
            return True
    for record in known:
        if new.birth_date is None or record.birth_date is None:
            continue
        if birth_dates_swapped(new.birth_date, record.birth_date):
            return True
        agree = (
            (record.given_name and _name(new.given_name) == record.given_name)
            or (record.family_name and _name(new.family_name) == record.family_name)
            or (record.postcode and _postcode(new.postcode) == record.postcode)
        )
        if agree and birth_dates_near(new.birth_date, record.birth_date):
            return True
    return False


_BATCH_COLUMNS = (
    SourcePatient.source_patient_id,
    SourcePatient.nhs_number,
    SourcePatient.nhs_number_status,
    SourcePatient.birth_date,
    SourcePatient.given_name,
    SourcePatient.family_name,
    SourcePatient.postcode,
    SourcePatient.person_id,
)


def _load_batch(session: Session, ids: Sequence[int]) -> list[Row[Any]]:
    rows: list[Row[Any]] = []
    for part in chunked(ids):
        query = select(*_BATCH_COLUMNS).where(SourcePatient.source_patient_id.in_(part))
        rows.extend(session.execute(query).all())  # type: ignore[arg-type]
    rows.sort(key=lambda row: row.source_patient_id)
    return rows


def _load_unlinked(session: Session) -> list[Row[Any]]:
    query = select(*_BATCH_COLUMNS).where(SourcePatient.person_id.is_(None))
    return sorted(session.execute(query).all(), key=lambda row: row.source_patient_id)  # type: ignore[arg-type]


# Past this many numbers one pass over every linked record beats thousands of IN-list look-ups.
_SCAN_FROM = 20 * CHUNK


def _known_by_number(session: Session, numbers: Sequence[str]) -> dict[str, dict[str, list[_Known]]]:
    """NHS number -> person_id -> that person's linked records with the number (oldest person first)."""
    found: dict[str, dict[str, list[_Known]]] = {}
    query = (
        select(
            SourcePatient.nhs_number,
            SourcePatient.person_id,
            SourcePatient.birth_date,
            SourcePatient.given_name,
            SourcePatient.family_name,
            SourcePatient.postcode,
        )
        .join(Person, Person.person_id == SourcePatient.person_id)
        .where(Person.status == "active")
        .order_by(Person.created_at, SourcePatient.source_patient_id)
    )
    wanted = set(numbers)
    if len(numbers) >= _SCAN_FROM:
        queries = [query.where(SourcePatient.nhs_number.is_not(None))]
    else:
        queries = [query.where(SourcePatient.nhs_number.in_(part)) for part in chunked(numbers)]
    for part_query in queries:
        for number, person_id, birth_date, given, family, postcode in session.execute(part_query):
            if number is None or person_id is None or number not in wanted:
                continue
            known = _Known(person_id, birth_date, _name(given), _name(family), _postcode(postcode))
            found.setdefault(number, {}).setdefault(person_id, []).append(known)
    return found


@dataclass
class _Writes:
    """Rows to write in bulk at the end of a linking step."""

    now: datetime = field(default_factory=utc_now)
    persons: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def new_person(self) -> str:
        person_id = new_person_id()
        self.persons.append({"person_id": person_id, "created_at": self.now, "status": "active"})
        return person_id

    def link(
        self,
        source_patient_id: int,
        person_id: str,
        method: str,
        *,
        weight: float | None = None,
        actor: str = "system:identity",
        reason: str = "",
    ) -> None:
        self.links.append(
            {
                "source_patient_id": source_patient_id,
                "person_id": person_id,
                "link_method": method,
                "link_match_weight": weight,
                "linked_at": self.now,
            }
        )
        self.events.append(
            {
                "source_patient_id": source_patient_id,
                "action": "link",
                "from_person_id": None,
                "to_person_id": person_id,
                "method": method,
                "match_weight": weight,
                "actor": actor,
                "reason": reason[:400],
                "recorded_at": self.now,
            }
        )

    def flush(self, session: Session) -> None:
        """Write everything collected, in three bulk (executemany) statements.

        Core statements on the tables, not ORM bulk operations: several times faster for tens of
        thousands of rows, and the ORM objects a caller holds are not touched (they are expired).
        A batch run's hundreds of thousands of links go through a temporary table instead.
        """
        if len(self.links) >= SET_BASED_FROM:
            self._flush_through_temporary_table(session)
            return
        patients = cast(Table, SourcePatient.__table__)
        if self.persons:
            session.execute(insert(cast(Table, Person.__table__)), self.persons)
        if self.links:
            statement = (
                update(patients)
                .where(patients.c.source_patient_id == bindparam("b_id"))
                .values(
                    person_id=bindparam("b_person"),
                    link_method=bindparam("b_method"),
                    link_match_weight=bindparam("b_weight"),
                    # One timestamp for the whole batch: a constant, not a parameter per row.
                    linked_at=self.now,
                    updated_at=self.now,
                )
            )
            rows = [
                {
                    "b_id": link["source_patient_id"],
                    "b_person": link["person_id"],
                    "b_method": link["link_method"],
                    "b_weight": link["link_match_weight"],
                }
                for link in self.links
            ]
            for part in chunked(rows):
                session.execute(statement, part)
        if self.events:
            session.execute(insert(cast(Table, PersonLinkEvent.__table__)), self.events)
        if self.links:
            session.expire_all()
        self.persons, self.links, self.events = [], [], []

    def _flush_through_temporary_table(self, session: Session) -> None:
        """The same writes for a large batch: the links go into a temporary table, then three set-based
        statements write the persons, the links and their events.

        Row by row, most of the time goes on preparing each row's parameters (the timestamps above
        all); here each link is four plain values and every constant is bound once.
        """
        connection = session.connection()
        new_persons = {person["person_id"] for person in self.persons}
        _LINK_BATCH.create(connection)
        try:
            connection.execute(
                insert(_LINK_BATCH),
                [
                    {
                        "position": position,
                        "source_patient_id": link["source_patient_id"],
                        "person_id": link["person_id"],
                        "link_method": link["link_method"],
                        "link_match_weight": link["link_match_weight"],
                        "new_person_flag": link["person_id"] in new_persons,
                        "actor": event["actor"],
                        "reason": event["reason"],
                    }
                    for position, (link, event) in enumerate(zip(self.links, self.events, strict=True))
                ],
            )
            self._write_from_batch(connection)
        finally:
            _LINK_BATCH.drop(connection)
        session.expire_all()
        self.persons, self.links, self.events = [], [], []

    def _write_from_batch(self, connection: Connection) -> None:
        batch = _LINK_BATCH.c
        persons, patients = cast(Table, Person.__table__), cast(Table, SourcePatient.__table__)
        events = cast(Table, PersonLinkEvent.__table__)
        now = literal(self.now, persons.c.created_at.type)
        first = select(batch.person_id, now, literal("active")).where(batch.new_person_flag).distinct()
        connection.execute(insert(persons).from_select(["person_id", "created_at", "status"], first))
        connection.execute(
            update(patients)
            .where(patients.c.source_patient_id == batch.source_patient_id)
            .values(
                person_id=batch.person_id,
                link_method=batch.link_method,
                link_match_weight=batch.link_match_weight,
                linked_at=self.now,
                updated_at=self.now,
            )
        )
        columns = ["source_patient_id", "action", "to_person_id", "method", "match_weight", "actor", "reason"]
        rows = select(
            batch.source_patient_id,
            literal("link"),
            batch.person_id,
            batch.link_method,
            batch.link_match_weight,
            batch.actor,
            batch.reason,
            literal(self.now, events.c.recorded_at.type),
        ).order_by(batch.position)
        connection.execute(insert(events).from_select([*columns, "recorded_at"], rows))


# Links in one flush from which the temporary-table path pays for its extra statements.
SET_BASED_FROM = 20_000

_LINK_BATCH = Table(
    "jup_identity_link_batch",
    MetaData(),
    Column("position", Integer, primary_key=True),
    Column("source_patient_id", BigInteger, nullable=False),
    Column("person_id", String(32), nullable=False),
    Column("link_method", String(20), nullable=False),
    Column("link_match_weight", Float),
    Column("new_person_flag", Boolean, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("reason", String(400), nullable=False),
    prefixes=["TEMPORARY"],
)


def link_by_nhs_number(session: Session, source_patient_ids: Iterable[int]) -> LinkSummary:
    """Link the given source patients that have a valid NHS number and a consistent date of birth.

    Each goes to the (oldest active) person already holding that NHS number with a consistent date
    of birth; failing that, to a new person (records in the same batch sharing the number share it).
    Records with no usable NHS number, or whose number's person has a conflicting date of birth,
    come back in ``unresolved`` for the probabilistic path. Already-linked records are left alone.
    """
    session.flush()
    return _link_rows(session, _load_batch(session, sorted(set(source_patient_ids))))


def link_unlinked_by_nhs_number(session: Session) -> LinkSummary:
    """``link_by_nhs_number`` for every unlinked source patient (the batch run), read in one query."""
    session.flush()
    return _link_rows(session, _load_unlinked(session))


def _link_rows(session: Session, rows: list[Row[Any]]) -> LinkSummary:
    summary = LinkSummary(considered=len(rows))
    pending = [row for row in rows if row.person_id is None]
    summary.already_linked = len(rows) - len(pending)
    usable = [row for row in pending if row.nhs_number_status == "valid" and row.nhs_number]
    usable_ids = {row.source_patient_id for row in usable}
    summary.unresolved = [row.source_patient_id for row in pending if row.source_patient_id not in usable_ids]
    known = _known_by_number(session, sorted({row.nhs_number for row in usable}))
    writes = _Writes()
    for row in usable:
        persons = known.setdefault(row.nhs_number, {})
        match = next((pid for pid, records in persons.items() if _same_person(row, records)), None)
        if match is None and persons:
            # The number is someone else's (different date of birth): probably a wrong number.
            summary.unresolved.append(row.source_patient_id)
            continue
        method = "nhs_number"
        if match is None:
            match, method = writes.new_person(), "new_person"
            summary.new_persons += 1
            summary.new_by_number.append(row.source_patient_id)
        else:
            summary.linked_by_nhs_number += 1
        writes.link(row.source_patient_id, match, method, reason="valid NHS number and consistent date of birth")
        summary.links[row.source_patient_id] = match
        # Later rows of this batch with the same number see this one.
        names = _name(row.given_name), _name(row.family_name)
        known_row = _Known(match, row.birth_date, *names, _postcode(row.postcode))
        persons.setdefault(match, []).append(known_row)
    writes.flush(session)
    summary.unresolved.sort()
    summary.left_unlinked = len(summary.unresolved)
    logger.info("identity: deterministic linking %s", summary.as_dict())
    return summary
