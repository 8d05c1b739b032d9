"""Several requests appending to the audit trail at once keep one unbroken chain, and none fails.

Found under load (benchmarks/bench_web_load.py): on SQLite two requests could both read the
chain's head and append after it, and one then failed on the unique sequence (an error page for
a record read). PostgreSQL serialises appends with an advisory lock; SQLite now takes its write
lock before reading the head.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from joinedup.governance import AuditItem, record_audit_many, verify_audit_chain
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory
from joinedup.store.tables.governance import AuditEntry

from .factories import actor

WRITERS = 4
TRANSACTIONS = 8
ENTRIES = 3  # per transaction, as one batched decision of three resource types writes


def test_concurrent_appends_keep_one_chain(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    failures: list[str] = []
    start = threading.Barrier(WRITERS)

    def write(writer: int) -> None:
        who = actor("gp", org="P00001")
        items = [AuditItem("read", kind, f"per{writer:08d}", basis="registered_practice")
                 for kind in ("patient", "condition", "medication")]
        start.wait()
        for _ in range(TRANSACTIONS):
            try:
                with sessions() as session:
                    # A read first, as a request reads before it audits (no write lock held yet).
                    session.scalar(select(func.count()).select_from(AuditEntry))
                    record_audit_many(session, actor=who, items=items)
                    session.commit()
            except Exception as exc:  # every failure is the finding
                failures.append(type(exc).__name__)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with sessions() as session:
        report = verify_audit_chain(session, settings=load_settings(home=tmp_path / "home"))
    engine.dispose()
    assert report.problems == []
    assert report.entry_count == WRITERS * TRANSACTIONS * ENTRIES
