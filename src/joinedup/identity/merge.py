"""Merging two persons (HL7 A40, a reviewer's decision) and undoing it.

A merge moves every source patient of the *merged* person to the *survivor* and marks the merged
person ``merged`` (``merged_into_person_id`` says into whom); one ``merge`` event per moved record
keeps the history. An unmerge moves exactly the records that merge moved back, and reactivates
the person, so both are restored with their records (records that arrived for the survivor since
stay with the survivor).

Clinical-safety control: a person that is not active cannot take part in a merge, and a record
that has already been merged once is not merged again without review (``reviewed=True``): a
second automatic merge is how wrong merges compound.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from joinedup.errors import Conflict, InvalidInput, NotFound
from joinedup.model import Actor
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.identity import Person, PersonLinkEvent, SourcePatient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MergeResult:
    """What a merge or unmerge did."""

    survivor: str
    merged: str
    records_moved: int


def actor_name(actor: Actor | str) -> str:
    """The actor as recorded in the link history (user id, or a system job's name)."""
    return actor if isinstance(actor, str) else actor.user_id


def audit(session: Session, actor: Actor | str, action: str, person_id: str, detail: str) -> None:
    """Record the change in governance's audit trail (identity changes are writes about a person)."""
    from joinedup.governance import record_audit
    from joinedup.model import system_actor

    who = actor if isinstance(actor, Actor) else system_actor(actor.removeprefix("system:"))
    record_audit(
        session,
        actor=who,
        action=action,
        resource_type="person_link",
        person_id=person_id,
        detail=detail,
        basis="identity management",
    )


def _active(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    if person.status != "active":
        raise Conflict(f"person {person_id} is {person.status}, not active; it cannot be merged")
    return person


def merge_persons(
    session: Session,
    *,
    survivor: str,
    merged: str,
    actor: Actor | str,
    reason: str,
    reviewed: bool = False,
    method: str = "merge_message",
) -> MergeResult:
    """Merge person ``merged`` into ``survivor`` (flush only; the caller commits).

    Raises:
        InvalidInput: the two ids are the same person.
        NotFound: either person does not exist.
        Conflict: either person is not active (already merged), or a record of ``merged`` was moved
            by an earlier merge and the merge is not ``reviewed`` by a person.
    """
    if survivor == merged:
        raise InvalidInput("a person cannot be merged into itself")
    _active(session, survivor)
    gone = _active(session, merged)
    records = list(session.scalars(select(SourcePatient.source_patient_id).where(SourcePatient.person_id == merged)))
    if not reviewed and records:
        earlier = session.scalar(
            select(PersonLinkEvent.link_event_id)
            .where(PersonLinkEvent.source_patient_id.in_(records), PersonLinkEvent.action == "merge")
            .limit(1)
        )
        if earlier is not None:
            raise Conflict(
                f"person {merged} holds records merged before; a second merge needs a reviewer's decision"
            )
    now = utc_now()
    who = actor_name(actor)
    session.execute(
        update(SourcePatient)
        .where(SourcePatient.person_id == merged)
        .values(person_id=survivor, link_method=method[:20], linked_at=now)
        .execution_options(synchronize_session=False)
    )
    if records:
        session.execute(
            insert(PersonLinkEvent),
            [
                {
                    "source_patient_id": record,
                    "action": "merge",
                    "from_person_id": merged,
                    "to_person_id": survivor,
                    "method": method[:20],
                    "actor": who[:64],
                    "reason": reason[:400],
                    "recorded_at": now,
                }
                for record in records
            ],
        )
    gone.status = "merged"
    gone.merged_into_person_id = survivor
    session.flush()
    session.expire_all()
    audit(session, actor, "merge", survivor, f"person {merged} merged into {survivor}; {len(records)} records moved")
    logger.info("identity: merged a person, %d records moved", len(records))
    return MergeResult(survivor, merged, len(records))


def unmerge_person(session: Session, *, merged: str, actor: Actor | str, reason: str) -> MergeResult:
    """Undo the latest merge of person ``merged``: its records go back to it and it is active again.

    Raises:
        NotFound: no such person.
        Conflict: the person is not merged.
    """
    person = session.get(Person, merged)
    if person is None:
        raise NotFound(f"no person {merged}")
    if person.status != "merged" or person.merged_into_person_id is None:
        raise Conflict(f"person {merged} is not merged; nothing to unmerge")
    survivor = person.merged_into_person_id
    events = session.execute(
        select(PersonLinkEvent.source_patient_id, PersonLinkEvent.recorded_at)
        .where(
            PersonLinkEvent.action == "merge",
            PersonLinkEvent.from_person_id == merged,
            PersonLinkEvent.to_person_id == survivor,
        )
        .order_by(PersonLinkEvent.link_event_id.desc())
    ).all()
    latest = events[0].recorded_at if events else None
    moved = sorted({event.source_patient_id for event in events if event.recorded_at == latest})
    # Only records still with the survivor go back (a later merge may have moved them on).
    still_there = list(
        session.scalars(
            select(SourcePatient.source_patient_id).where(
                SourcePatient.source_patient_id.in_(moved), SourcePatient.person_id == survivor
            )
        )
    )
    now = utc_now()
    who = actor_name(actor)
    if still_there:
        session.execute(
            update(SourcePatient)
            .where(SourcePatient.source_patient_id.in_(still_there))
            .values(person_id=merged, link_method="reviewer", linked_at=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            insert(PersonLinkEvent),
            [
                {
                    "source_patient_id": record,
                    "action": "unmerge",
                    "from_person_id": survivor,
                    "to_person_id": merged,
                    "method": "reviewer",
                    "actor": who[:64],
                    "reason": reason[:400],
                    "recorded_at": now,
                }
                for record in still_there
            ],
        )
    person.status = "active"
    person.merged_into_person_id = None
    session.flush()
    session.expire_all()
    audit(session, actor, "unmerge", merged, f"person {merged} unmerged from {survivor}; {len(still_there)} records")
    return MergeResult(survivor, merged, len(still_there))


def link_history(session: Session, person_id: str) -> list[PersonLinkEvent]:
    """Every link event that moved a record to or from the person, oldest first."""
    query = (
        select(PersonLinkEvent)
        .where((PersonLinkEvent.to_person_id == person_id) | (PersonLinkEvent.from_person_id == person_id))
        .order_by(PersonLinkEvent.link_event_id)
    )
    return list(session.scalars(query))


def merge_source_patients(
    session: Session,
    *,
    surviving: int,
    retired: int,
    actor: Actor | str,
    reason: str,
) -> MergeResult | None:
    """An HL7 A40 between two source patients: merge the retired record's person into the survivor's.

    Resolves the persons the two records belong to now. When the retired record is not linked yet
    it is simply linked to the survivor's person; when both already share a person nothing
    changes (None is returned, the message was a repeat). The same safety control as
    ``merge_persons`` applies: a record merged before is not merged again without review.

    Raises:
        NotFound: either source patient does not exist, or the survivor is not linked to a person.
        Conflict: see ``merge_persons``.
    """
    rows = dict(
        session.execute(
            select(SourcePatient.source_patient_id, SourcePatient.person_id).where(
                SourcePatient.source_patient_id.in_([surviving, retired])
            )
        ).all()
    )
    if surviving not in rows or retired not in rows:
        raise NotFound(f"no source patient {surviving if surviving not in rows else retired}")
    survivor, merged = rows[surviving], rows[retired]
    if survivor is None:
        raise NotFound(f"source patient {surviving} is not linked to a person yet")
    if merged == survivor:
        return None
    if merged is None:
        now = utc_now()
        session.execute(
            update(SourcePatient)
            .where(SourcePatient.source_patient_id == retired)
            .values(person_id=survivor, link_method="merge_message", linked_at=now)
            .execution_options(synchronize_session=False)
        )
        session.add(
            PersonLinkEvent(
                source_patient_id=retired,
                action="link",
                to_person_id=survivor,
                method="merge_message",
                actor=actor_name(actor)[:64],
                reason=reason[:400],
                recorded_at=now,
            )
        )
        session.flush()
        session.expire_all()
        return MergeResult(survivor, survivor, 1)
    return merge_persons(session, survivor=survivor, merged=merged, actor=actor, reason=reason)
