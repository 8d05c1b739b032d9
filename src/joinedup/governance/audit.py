"""The audit trail: append-only, hash-chained, checkpointed under a key the database does not hold.

Each entry stores the hash of the entry before it and its own hash over its content, so an edited,
deleted, inserted or reordered row breaks the chain. A chain re-hashed from scratch stays
self-consistent, so the chain head is sealed now and then (``checkpoint_audit_chain``) with an HMAC
under ``settings.secret("audit_checkpoint_key")``, a file in the home that the database never sees;
``verify_audit_chain`` checks both. Entries written after the last checkpoint are protected by the
chain alone until the next checkpoint (``joinedup audit checkpoint``, run by the daily job).

On PostgreSQL the insert runs as the role ``joinedup_audit_writer`` (INSERT and SELECT only), and a
transaction-scoped advisory lock keeps the chain in one line when several writers append at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from joinedup.model import Actor
from joinedup.settings import Settings
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import AuditCheckpoint, AuditEntry

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
AUDIT_WRITER_ROLE = "joinedup_audit_writer"
# Any fixed 64-bit number: the advisory lock that serialises appends to the chain on PostgreSQL.
AUDIT_LOCK_KEY = 7_263_514_901
_BATCH = 5000
_TABLE = cast(Table, AuditEntry.__table__)
_INSERT = insert(_TABLE).returning(_TABLE.c.sequence, _TABLE.c.audit_entry_id)


def _entry_content(entry: AuditEntry) -> dict[str, Any]:
    """What the hash covers: everything but the surrogate key and the hash itself."""
    return {
        "sequence": entry.sequence,
        "occurred_at": entry.occurred_at.isoformat(),
        "user_id": entry.user_id,
        "username": entry.username,
        "role": entry.role,
        "org_code": entry.org_code,
        "person_id": entry.person_id,
        "action": entry.action,
        "resource_type": entry.resource_type,
        "outcome": entry.outcome,
        "purpose": entry.purpose,
        "basis": entry.basis,
        "detail": entry.detail,
        "client_address": entry.client_address,
    }


def _row(entry: AuditEntry) -> dict[str, Any]:
    """The entry's columns for an INSERT (everything but the surrogate key)."""
    return {
        column.key: getattr(entry, column.key)
        for column in _TABLE.columns
        if column.key != "audit_entry_id"
    }


def hash_entry(previous_hash: str, entry: AuditEntry) -> str:
    """SHA-256 over the previous entry's hash and this entry's canonical content."""
    canonical = json.dumps(_entry_content(entry), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{previous_hash}\n{canonical}".encode()).hexdigest()


def _writer_role_usable(session: Session) -> bool:
    """Whether this PostgreSQL connection can write as the audit writer role (cached per connection)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return False
    cached = connection.info.get("joinedup_audit_writer")
    if cached is None:
        cached = bool(
            connection.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role) "
                    "AND pg_has_role(current_user, :role, 'MEMBER')"
                ),
                {"role": AUDIT_WRITER_ROLE},
            ).scalar()
        )
        connection.info["joinedup_audit_writer"] = cached
    return bool(cached)


@dataclass(frozen=True)
class AuditItem:
    """One entry to append, as ``record_audit_many`` takes it (the actor is given once for all)."""

    action: str
    resource_type: str
    person_id: str | None = None
    detail: str = ""
    basis: str = ""
    outcome: str = "allowed"
    purpose: str | None = None


def record_audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    resource_type: str,
    person_id: str | None = None,
    detail: str = "",
    basis: str = "",
    outcome: str = "allowed",
    purpose: str | None = None,
    client_address: str | None = None,
) -> AuditEntry:
    """Append one entry to the audit trail, in the caller's transaction.

    Args:
        actor: who acted (user, role and organisation are copied into the entry).
        action: read | write | create | delete | search | export | break_glass | sign_in | ...
        resource_type: what kind of thing was seen or changed (condition, care_plan, extract...).
        person_id: the linked person concerned, when there is one (never an NHS number).
        detail: what exactly (ids, counts); never names, NHS numbers or free text about the patient.
        basis: why it was allowed: the legitimate relationship, or ``break_glass: <reason>``.
        outcome: allowed | denied | not_found.
        purpose: direct_care, planning, research...
        client_address: where from (defaults to ``actor.client_address``).

    Returns:
        The new entry as written, with its key, sequence number and hash.
    """
    item = AuditItem(action, resource_type, person_id, detail, basis, outcome, purpose)
    [entry] = record_audit_many(session, actor=actor, items=[item], client_address=client_address)
    return entry


def record_audit_many(
    session: Session, *, actor: Actor, items: Sequence[AuditItem], client_address: str | None = None
) -> list[AuditEntry]:
    """Append several entries for one actor at once: one lock, one look at the head, one insert.

    The entries are chained in the order given, exactly as the same ``record_audit`` calls one
    after another would chain them; a page that reads eleven resource types pays for one write.

    Returns:
        The new entries as written, with their keys, sequence numbers and hashes (not attached to
        the session: they are never changed).
    """
    if not items:
        return []
    # The caller's own pending changes are flushed first, under the caller's role.
    session.flush()
    as_writer = _writer_role_usable(session)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    elif dialect == "sqlite":
        # Take SQLite's write lock BEFORE reading the head: otherwise two requests can both read
        # the same head and append after it (one then fails on the unique sequence). A write
        # that changes nothing begins the write transaction, waiting its turn (busy timeout).
        session.execute(text("UPDATE audit_entry SET sequence = sequence WHERE 1 = 0"))
    if as_writer:
        session.execute(text(f"SET LOCAL ROLE {AUDIT_WRITER_ROLE}"))
    # On failure the transaction (or savepoint) is aborted, which also undoes SET LOCAL ROLE.
    last = session.execute(
        select(AuditEntry.sequence, AuditEntry.entry_hash).order_by(AuditEntry.sequence.desc()).limit(1)
    ).first()
    sequence, previous_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
    occurred_at = utc_now()
    address = client_address if client_address is not None else actor.client_address
    entries: list[AuditEntry] = []
    for item in items:
        sequence += 1
        entry = AuditEntry(
            sequence=sequence,
            occurred_at=occurred_at,
            user_id=actor.user_id,
            username=actor.username,
            role=actor.role,
            org_code=actor.org_code,
            person_id=item.person_id,
            action=item.action,
            resource_type=item.resource_type,
            outcome=item.outcome,
            purpose=item.purpose,
            basis=item.basis,
            detail=item.detail,
            client_address=address,
            previous_hash=previous_hash,
        )
        entry.entry_hash = previous_hash = hash_entry(previous_hash, entry)
        entries.append(entry)
    # One cached INSERT ... RETURNING executed for all the rows: SQLAlchemy sends them as one
    # multi-row statement ("insertmanyvalues"), one round trip, not one per entry.
    by_sequence = {entry.sequence: entry for entry in entries}
    inserted = session.execute(_INSERT, [_row(entry) for entry in entries])
    for written_sequence, audit_entry_id in inserted:
        by_sequence[written_sequence].audit_entry_id = audit_entry_id
    if as_writer:
        session.execute(text("RESET ROLE"))
    return entries


def _seal(key: str, previous_seal: str, sequence: int, head_hash: str, created_at: datetime) -> str:
    message = f"{previous_seal}|{sequence}|{head_hash}|{created_at.isoformat()}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def _checkpoint_key(settings: Settings) -> str:
    return settings.secret("audit_checkpoint_key").get_secret_value()


def checkpoint_audit_chain(session: Session, *, settings: Settings) -> AuditCheckpoint | None:
    """Seal the current chain head with an HMAC under the checkpoint key (kept outside the database).

    Returns:
        The new checkpoint, or None when the trail is empty or the head is already sealed.
    """
    head = session.execute(
        select(AuditEntry.sequence, AuditEntry.entry_hash).order_by(AuditEntry.sequence.desc()).limit(1)
    ).first()
    if head is None:
        return None
    previous = session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.audit_checkpoint_id.desc()).limit(1)
    ).first()
    if previous is not None and previous.sequence == head[0]:
        return None
    created_at = utc_now()
    checkpoint = AuditCheckpoint(
        sequence=head[0],
        head_hash=head[1],
        created_at=created_at,
        seal=_seal(_checkpoint_key(settings), previous.seal if previous else "", head[0], head[1], created_at),
    )
    session.add(checkpoint)
    session.flush()
    logger.info("audit chain checkpointed at sequence %d", head[0])
    return checkpoint


@dataclass
class AuditVerification:
    """The result of checking the audit trail."""

    entry_count: int = 0
    checkpoint_count: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the chain and every checkpoint check out."""
        return not self.problems


def _entries_in_order(session: Session) -> Iterator[AuditEntry]:
    after = 0
    while True:
        batch = session.scalars(
            select(AuditEntry).where(AuditEntry.sequence > after).order_by(AuditEntry.sequence).limit(_BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].sequence


def verify_audit_chain(session: Session, *, settings: Settings, max_problems: int = 20) -> AuditVerification:
    """Check the whole trail: sequence without gaps, every link and hash, every sealed checkpoint.

    Detects an edited, deleted, inserted or reordered entry (the chain breaks) and a chain
    re-hashed from scratch or cut short at the end (a checkpoint no longer matches).
    """
    report = AuditVerification()
    hashes: dict[int, str] = {}
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    for entry in _entries_in_order(session):
        report.entry_count += 1
        where = f"audit entry {entry.audit_entry_id} (sequence {entry.sequence})"
        if entry.sequence != expected_sequence:
            report.problems.append(f"{where}: expected sequence {expected_sequence} (entries missing or added)")
        if entry.previous_hash != previous_hash:
            report.problems.append(f"{where}: does not follow the entry before it (deleted, inserted or moved)")
        if hash_entry(entry.previous_hash, entry) != entry.entry_hash:
            report.problems.append(f"{where}: content does not match its hash (edited)")
        hashes[entry.sequence] = entry.entry_hash
        previous_hash = entry.entry_hash
        expected_sequence = entry.sequence + 1
    _verify_checkpoints(session, settings, hashes, report)
    if len(report.problems) > max_problems:
        more = len(report.problems) - max_problems
        report.problems = [*report.problems[:max_problems], f"... and {more} more problems"]
    return report


def _verify_checkpoints(
    session: Session, settings: Settings, hashes: dict[int, str], report: AuditVerification
) -> None:
    key = _checkpoint_key(settings)
    previous_seal = ""
    for checkpoint in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.audit_checkpoint_id)):
        report.checkpoint_count += 1
        where = f"checkpoint {checkpoint.audit_checkpoint_id} (sequence {checkpoint.sequence})"
        expected = _seal(key, previous_seal, checkpoint.sequence, checkpoint.head_hash, checkpoint.created_at)
        if not hmac.compare_digest(expected, checkpoint.seal):
            report.problems.append(f"{where}: seal does not verify under the checkpoint key (forged or altered)")
        actual = hashes.get(checkpoint.sequence)
        if actual is None:
            report.problems.append(f"{where}: the sealed entry is gone (trail cut short or renumbered)")
        elif actual != checkpoint.head_hash:
            report.problems.append(f"{where}: the trail no longer matches the sealed head (re-hashed or edited)")
        previous_seal = checkpoint.seal


def audit_entry_count(session: Session) -> int:
    """How many entries the trail holds."""
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
