"""The audit trail: hash-chained, checkpointed under a key outside the database, tamper-evident."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from joinedup.governance import checkpoint_audit_chain, record_audit, verify_audit_chain
from joinedup.governance.audit import GENESIS_HASH, hash_entry
from joinedup.settings import Settings
from joinedup.store.tables.governance import AuditCheckpoint, AuditEntry

from .factories import actor


def _write_trail(session: Session, count: int = 6) -> list[AuditEntry]:
    gp = actor("gp", org="P00001")
    return [
        record_audit(
            session,
            actor=gp,
            action="read",
            resource_type="condition",
            person_id=f"per{n:08d}",
            detail=f"condition list ({n} items)",
            basis="registered_practice",
        )
        for n in range(count)
    ]


def _tampered(session: Session, settings: Settings) -> list[str]:
    session.expire_all()
    return verify_audit_chain(session, settings=settings).problems


def test_an_untouched_trail_verifies_with_every_link_in_order(session: Session, settings: Settings) -> None:
    entries = _write_trail(session)
    assert checkpoint_audit_chain(session, settings=settings) is not None
    _write_trail(session, 2)  # after the checkpoint: still chained

    report = verify_audit_chain(session, settings=settings)

    assert report.ok, report.problems
    assert (report.entry_count, report.checkpoint_count) == (8, 1)
    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].previous_hash == GENESIS_HASH
    assert all(later.previous_hash == earlier.entry_hash for earlier, later in itertools.pairwise(entries))
    first = entries[0]
    assert (first.username, first.role, first.org_code, first.basis) == (
        entries[0].username,
        "gp",
        "P00001",
        "registered_practice",
    )


def test_an_edited_entry_is_detected(session: Session, settings: Settings) -> None:
    entries = _write_trail(session)
    session.execute(update(AuditEntry).where(AuditEntry.sequence == 3).values(person_id="per99999999"))
    problems = _tampered(session, settings)
    assert problems == [
        f"audit entry {entries[2].audit_entry_id} (sequence 3): content does not match its hash (edited)"
    ]


def test_a_deleted_entry_is_detected(session: Session, settings: Settings) -> None:
    _write_trail(session)
    session.execute(text("DELETE FROM audit_entry WHERE sequence = 4"))
    problems = _tampered(session, settings)
    assert any("expected sequence 4" in p for p in problems)
    assert any("does not follow the entry before it" in p for p in problems)


def test_a_deleted_tail_is_detected_by_the_checkpoint(session: Session, settings: Settings) -> None:
    _write_trail(session)
    checkpoint_audit_chain(session, settings=settings)
    session.execute(text("DELETE FROM audit_entry WHERE sequence >= 5"))
    problems = _tampered(session, settings)
    assert [p.split(" ", 2)[2] for p in problems] == [
        "(sequence 6): the sealed entry is gone (trail cut short or renumbered)"
    ]


def test_an_inserted_entry_is_detected(session: Session, settings: Settings) -> None:
    entries = _write_trail(session)
    # A forged entry squeezed in after sequence 2, correctly hashed onto entry 2, others renumbered.
    session.execute(update(AuditEntry).where(AuditEntry.sequence > 2).values(sequence=AuditEntry.sequence + 100))
    session.execute(update(AuditEntry).where(AuditEntry.sequence > 100).values(sequence=AuditEntry.sequence - 99))
    forged = AuditEntry(
        sequence=3,
        occurred_at=entries[2].occurred_at,
        user_id="u0",
        username="nobody",
        role="gp",
        org_code="P00001",
        person_id="per00000000",
        action="read",
        resource_type="condition",
        outcome="allowed",
        basis="registered_practice",
        detail="",
        previous_hash=entries[1].entry_hash,
    )
    forged.entry_hash = hash_entry(forged.previous_hash, forged)
    session.add(forged)
    session.flush()
    problems = _tampered(session, settings)
    # The first broken link is right after the forgery; renumbered entries no longer match their hashes.
    assert "(sequence 4): does not follow the entry before it" in problems[0]
    assert sum("content does not match its hash" in p for p in problems) == 4


def test_reordered_entries_are_detected(session: Session, settings: Settings) -> None:
    _write_trail(session)
    session.execute(update(AuditEntry).where(AuditEntry.sequence == 2).values(sequence=-2))
    session.execute(update(AuditEntry).where(AuditEntry.sequence == 5).values(sequence=2))
    session.execute(update(AuditEntry).where(AuditEntry.sequence == -2).values(sequence=5))
    problems = _tampered(session, settings)
    assert {p.split(": ", 1)[1] for p in problems} >= {
        "does not follow the entry before it (deleted, inserted or moved)"
    }
    assert len(problems) >= 2


def test_a_trail_rehashed_from_scratch_is_caught_by_the_sealed_checkpoint(session: Session, settings: Settings) -> None:
    _write_trail(session)
    checkpoint_audit_chain(session, settings=settings)
    session.execute(update(AuditEntry).where(AuditEntry.sequence == 2).values(person_id="per99999999"))
    session.expire_all()
    previous = GENESIS_HASH
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.sequence)):
        entry.previous_hash = previous
        entry.entry_hash = hash_entry(previous, entry)
        previous = entry.entry_hash
    session.flush()
    problems = _tampered(session, settings)
    assert [p.split(" ", 2)[2] for p in problems] == [
        "(sequence 6): the trail no longer matches the sealed head (re-hashed or edited)"
    ]


def test_a_forged_checkpoint_is_caught(session: Session, settings: Settings) -> None:
    _write_trail(session)
    checkpoint = checkpoint_audit_chain(session, settings=settings)
    assert checkpoint is not None
    # Re-hash, then re-point the checkpoint at the new head: the seal needs the key the database lacks.
    session.execute(update(AuditEntry).where(AuditEntry.sequence == 6).values(detail="nothing to see"))
    session.expire_all()
    last = session.scalars(select(AuditEntry).where(AuditEntry.sequence == 6)).one()
    last.entry_hash = hash_entry(last.previous_hash, last)
    session.execute(update(AuditCheckpoint).values(head_hash=last.entry_hash))
    problems = _tampered(session, settings)
    assert [p.split(" ", 2)[2] for p in problems] == [
        "(sequence 6): seal does not verify under the checkpoint key (forged or altered)"
    ]


@pytest.mark.postgresql
def test_the_audit_writer_role_cannot_update_or_delete(postgres_engine: object) -> None:
    from sqlalchemy import Engine

    assert isinstance(postgres_engine, Engine)
    with postgres_engine.connect() as connection, connection.begin() as outer:
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        _write_trail(session, 2)
        session.execute(text("SET ROLE joinedup_audit_writer"))
        for statement in ("UPDATE audit_entry SET detail = 'x'", "DELETE FROM audit_entry"):
            nested = connection.begin_nested()
            with pytest.raises(ProgrammingError, match="permission denied"):
                connection.execute(text(statement))
            nested.rollback()
        # INSERT through the role works: that is how record_audit writes on PostgreSQL.
        assert connection.execute(text("SELECT count(*) FROM audit_entry")).scalar() == 2
        connection.execute(text("RESET ROLE"))
        session.close()
        outer.rollback()


def test_unusual_access_raises_one_alert_naming_the_user_not_the_patients(session: Session) -> None:
    from joinedup.governance.alerts import UnusualAccessRule, scan_for_unusual_access
    from joinedup.store.tables.governance import IgAlert

    entries = _write_trail(session, 6)  # one GP, six different people
    quiet = actor("gp", org="P00002")
    record_audit(session, actor=quiet, action="read", resource_type="condition", person_id="per00000001")
    rule = UnusualAccessRule(distinct_people=5, refusals=3)

    assert scan_for_unusual_access(session, rule=rule) == 1
    assert scan_for_unusual_access(session, rule=rule) == 0
    alerts = session.scalars(select(IgAlert)).all()
    assert [(a.kind, a.user_id) for a in alerts] == [("unusual_access", entries[0].user_id)]
    assert "opened the records of 6 different people" in alerts[0].summary
    assert all(e.person_id not in alerts[0].summary for e in entries if e.person_id)


@pytest.mark.postgresql
def test_record_audit_writes_through_the_audit_writer_role(postgres_engine: object) -> None:
    from sqlalchemy import Engine

    assert isinstance(postgres_engine, Engine)
    with postgres_engine.connect() as connection, connection.begin() as outer:
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        # Take INSERT away from the writer role only (undone with the transaction): the superuser the
        # tests connect as could still insert, so a refusal proves the entry goes through the role.
        connection.execute(text("REVOKE INSERT ON audit_entry FROM joinedup_audit_writer"))
        with pytest.raises(ProgrammingError, match="permission denied"):
            _write_trail(session, 1)
        session.close()
        outer.rollback()
