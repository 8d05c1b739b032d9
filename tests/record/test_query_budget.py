"""Reading a whole record makes a bounded number of SQL statements, however long the history.

The machine-independent guard on the record's speed: timings vary with the machine's load, the
number of round trips does not. Access to every section is decided in one batched governance
call (relationships looked up once, one multi-row audit insert), and each section is one
set-based query; a per-row or per-section loop of queries would break the budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from joinedup.record import patient_record
from joinedup.store.tables import Encounter, Observation
from joinedup.store.tables.governance import AuditEntry

from .seed import ANN, PRACTICE_ANN, actor, seed_record

# Governance: the person, the relationships, the audit chain's head, one audit insert (PostgreSQL
# adds its advisory lock and the audit writer's SET/RESET ROLE); the record: 17 section queries.
RECORD_STATEMENT_BUDGET = 25


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements the session sends while the block runs (one per round trip)."""
    engine = session.get_bind().engine
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _read_as_gp(session: Session) -> int:
    session.flush()
    session.expunge_all()  # nothing cached from seeding: every row is really read
    with _statements(session) as seen:
        record = patient_record(session, actor=actor("gp", org=PRACTICE_ANN), person_id=ANN)
    assert record.withheld == {}
    return len(seen)


def test_a_whole_record_is_read_in_a_bounded_number_of_statements(session: Session) -> None:
    seeded = seed_record(session)
    # Warm the connection (PostgreSQL caches once per connection whether it can write as the
    # audit writer role), then count a read from cold ORM state.
    patient_record(session, actor=actor("gp", org=PRACTICE_ANN), person_id=ANN)
    first = _read_as_gp(session)
    assert first <= RECORD_STATEMENT_BUDGET

    # A much longer history (30 more encounters, 60 more readings) costs no more statements.
    gp = seeded.ann_gp_patient_id
    for k in range(30):
        session.add(Encounter(source="gp", source_record_id=f"budget-e{k}", source_patient_id=gp,
                              setting="gp", status="finished", start_at=seeded.now - timedelta(days=100 + k)))
    for k in range(60):
        session.add(Observation(source="gp", source_record_id=f"budget-o{k}", source_patient_id=gp,
                                code=f"budget-{k % 6}", code_system="LOINC", value_num=float(k),
                                effective_at=seeded.now - timedelta(days=k)))
    assert _read_as_gp(session) == first

    # Still one audit entry per resource type read, each with its basis.
    latest = session.execute(
        select(AuditEntry.resource_type, AuditEntry.outcome, AuditEntry.basis)
        .where(AuditEntry.person_id == ANN)
        .order_by(AuditEntry.sequence.desc())
        .limit(11)
    ).all()
    assert sorted(row.resource_type for row in latest) == sorted([
        "allergy", "booking", "care_plan", "condition", "encounter", "medication", "observation", "passport",
        "patient", "referral", "risk_score",
    ])
    assert {(row.outcome, row.basis) for row in latest} == {("allowed", "registered_practice")}
