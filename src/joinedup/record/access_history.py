"""'Who has looked at my record': the allowed reads of a person's record, as the person may see them.

Read from governance's audit trail through governance (resource ``audit``: the person themself,
or an information governance officer). One line per visit: the section reads one page makes
within a minute by the same user are shown together. The person's own looks and
unattended jobs are left out; each line says who (role and organisation), when, what and why
(the relationship, or break-glass with its reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from joinedup.governance.record_access import RecordAccess, accesses_to_person
from joinedup.model import Actor
from joinedup.record._rows import organisation_names

VISIT_GAP = timedelta(minutes=1)
LOOKS = ("read", "search", "export")


@dataclass(frozen=True)
class RecordLook:
    """One visit to the record by somebody else."""

    occurred_at: datetime
    role: str
    org_code: str | None
    org_name: str | None
    username: str
    what: tuple[str, ...]
    basis: str
    break_glass: bool


def access_history(session: Session, *, actor: Actor, person_id: str, limit: int = 100) -> list[RecordLook]:
    """Who looked at the person's record, newest first (at most ``limit`` visits).

    The trail comes from ``governance.record_access.accesses_to_person``, which decides and audits
    the request; this groups it into visits and names the organisations.

    Raises:
        AccessDenied: the actor may not see this person's audit trail.
        NotFound: no such person.
    """
    visits: list[tuple[RecordAccess, list[str]]] = []
    for access in reversed(accesses_to_person(session, actor=actor, person_id=person_id)):
        if (
            access.outcome != "allowed"
            or access.action not in LOOKS
            or access.role == "system"
            or access.username == actor.username
        ):
            continue
        # Newest first: an entry joins the visit above it when the same user read within a minute.
        if visits and visits[-1][0].username == access.username and (
            visits[-1][0].occurred_at - access.occurred_at <= VISIT_GAP
        ):
            if access.resource_type not in visits[-1][1]:
                visits[-1][1].append(access.resource_type)
            continue
        if len(visits) == limit:
            break
        visits.append((access, [access.resource_type]))
    names = organisation_names(session, (first.org_code for first, _ in visits))
    return [
        RecordLook(
            occurred_at=first.occurred_at,
            role=first.role,
            org_code=first.org_code,
            org_name=names.get(first.org_code or ""),
            username=first.username,
            what=tuple(sorted(what)),
            basis=first.basis,
            break_glass=first.break_glass,
        )
        for first, what in visits
    ]
