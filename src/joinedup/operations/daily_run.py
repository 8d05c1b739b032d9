"""The daily run: new feed files in, linked, warehouse refreshed, risk rescored, events acted on.

Each step owns its unit of work and is safe to repeat (ingest skips files already done, linking
keeps existing links, the warehouse refresh is incremental, scoring replaces the same day's run),
so a failed step is retried and a rerun of the whole day never half-applies anything. Every run
is recorded in ``operation_run`` with each step's outcome, for the integration status page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.coordination.centre import run_centre_jobs
from joinedup.errors import JoinedUpError
from joinedup.feeds import ingest_paths
from joinedup.governance import checkpoint_audit_chain
from joinedup.governance.alerts import scan_for_unusual_access
from joinedup.identity.merge_events import apply_merge_events
from joinedup.identity.service import run_linkage
from joinedup.risk.scoring import rescore_population
from joinedup.settings import Settings
from joinedup.store.tables import utc_now
from joinedup.store.tables.operations import OperationRun
from joinedup.warehouse import build_warehouse

logger = logging.getLogger(__name__)

DAILY_STEPS = ("ingest", "link", "coordination", "warehouse", "risk_score", "audit")


@dataclass
class StepOutcome:
    """How one step of a run went."""

    step: str
    status: str = "skipped"
    attempts: int = 0
    seconds: float = 0.0
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class DailyRunReport:
    """A whole run: its id in ``operation_run`` and each step's outcome."""

    operation_run_id: int
    steps: list[StepOutcome]

    @property
    def succeeded(self) -> bool:
        return all(step.status == "done" for step in self.steps)


def _ingest(settings: Settings, sessions: sessionmaker[Session], inbox: Path) -> dict[str, Any]:
    with sessions() as session:
        summary = ingest_paths(session, [inbox])
        session.commit()
    return {"read": summary.read, "accepted": summary.accepted, "duplicates": summary.duplicates,
            "quarantined": summary.quarantined_count, "files_read": summary.files_read,
            "files_skipped": summary.files_skipped}


def _link(settings: Settings, sessions: sessionmaker[Session], inbox: Path) -> dict[str, Any]:
    with sessions() as session:
        report = run_linkage(session, settings)
        merges = apply_merge_events(session)
        session.commit()
    return {"persons": report.persons, "unlinked": report.unlinked, "review_open": report.review_open,
            "a40_merged": merges.merged, "a40_to_review": merges.sent_to_review}


def _coordination(settings: Settings, sessions: sessionmaker[Session], inbox: Path) -> dict[str, Any]:
    with sessions() as session:
        run = run_centre_jobs(session)
        session.commit()
    return {"events": run.outbox_events, "tasks_escalated": run.tasks_escalated, "steps_flagged": run.steps_flagged}


def _warehouse(settings: Settings, sessions: sessionmaker[Session], inbox: Path) -> dict[str, Any]:
    report = build_warehouse(sessions, settings)
    return {"mode": report.mode, "changed_persons": report.changed_person_count, "tables": len(report.table_rows)}


def _risk_score(settings: Settings, sessions: sessionmaker[Session], inbox: Path) -> dict[str, Any]:
    with sessions() as session:
        summary = rescore_population(session, settings)
    if summary is None:
        return {"scored": 0, "note": "no trained model yet: run `joinedup risk train`"}
    return {"scored": summary.people, "model_version": summary.model_version, "by_band": summary.by_band}


def _audit(settings: Settings, sessions: sessionmaker[Session], inbox: Path) -> dict[str, Any]:
    """Seal the audit chain's head under the checkpoint key and look for unusual access."""
    with sessions() as session:
        checkpoint = checkpoint_audit_chain(session, settings=settings)
        alerts = scan_for_unusual_access(session)
        session.commit()
    return {"checkpointed": checkpoint is not None, "alerts_raised": alerts}


STEP_FUNCTIONS: dict[str, Callable[[Settings, sessionmaker[Session], Path], dict[str, Any]]] = {
    "ingest": _ingest,
    "link": _link,
    "coordination": _coordination,
    "warehouse": _warehouse,
    "risk_score": _risk_score,
    "audit": _audit,
}


def _run_step(name: str, settings: Settings, sessions: sessionmaker[Session], inbox: Path,
              attempts: int) -> StepOutcome:
    outcome = StepOutcome(step=name)
    for attempt in range(1, attempts + 1):
        outcome.attempts = attempt
        started = time.perf_counter()
        try:
            outcome.counts = STEP_FUNCTIONS[name](settings, sessions, inbox)
        except (JoinedUpError, OSError, duckdb.Error) as exc:
            outcome.error = f"{type(exc).__name__}: {exc}" if isinstance(exc, JoinedUpError) else type(exc).__name__
            outcome.status = "failed"
            logger.warning("daily run step %s failed (attempt %d of %d): %s", name, attempt, attempts,
                           type(exc).__name__)
        else:
            outcome.status, outcome.error = "done", None
            outcome.seconds = round(time.perf_counter() - started, 2)
            return outcome
        outcome.seconds = round(time.perf_counter() - started, 2)
    return outcome


def run_daily(settings: Settings, engine: Engine, *, inbox: Path, attempts: int = 2) -> DailyRunReport:
    """Run the day's steps in order; a step that still fails after its retries stops the run.

    Later steps are recorded as skipped, so the status page shows exactly where it stopped.
    """
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as session:
        run = OperationRun(kind="daily", status="running", steps=[])
        session.add(run)
        session.commit()
        run_id = run.operation_run_id
    outcomes: list[StepOutcome] = []
    for name in DAILY_STEPS:
        if outcomes and outcomes[-1].status != "done":
            outcomes.append(StepOutcome(step=name))
            continue
        outcomes.append(_run_step(name, settings, sessions, inbox, attempts))
    report = DailyRunReport(run_id, outcomes)
    with sessions() as session:
        row = session.get(OperationRun, run_id)
        assert row is not None
        row.status = "succeeded" if report.succeeded else "failed"
        row.finished_at = utc_now()
        row.steps = [outcome.__dict__ for outcome in outcomes]
        session.commit()
    return report


def recent_runs(session: Session, *, limit: int = 20) -> list[OperationRun]:
    """The latest runs, newest first, for the integration status page."""
    return list(session.scalars(select(OperationRun).order_by(OperationRun.operation_run_id.desc()).limit(limit)))
