"""Jobs that keep the centre live while the web app runs: A40 merges, outbox events, escalations.

``joinedup serve`` starts them on a background thread every few seconds, so an ADT event reaches
the board within seconds without a separate process; `joinedup coordination run --every N` does
the same as a process of its own where several web workers run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from joinedup.coordination.centre import run_centre_jobs
from joinedup.errors import JoinedUpError
from joinedup.identity.merge_events import apply_merge_events

logger = logging.getLogger(__name__)


def run_live_jobs_once(sessions: sessionmaker[Session]) -> int:
    """One pass: merges from A40 messages, then the centre's outbox, merges and escalations."""
    with sessions() as session:
        apply_merge_events(session)
        session.commit()
        run = run_centre_jobs(session)
        session.commit()
    return run.outbox_events


def start_live_jobs(sessions: sessionmaker[Session], *, every_seconds: float = 5.0) -> Callable[[], None]:
    """Run the live jobs every few seconds on a daemon thread; returns a function that stops it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_seconds):
            try:
                run_live_jobs_once(sessions)
            except (JoinedUpError, SQLAlchemyError) as exc:
                # The next pass retries; a database that is down comes back by itself.
                logger.warning("live jobs pass failed (%s); retrying in %.0f s", type(exc).__name__, every_seconds)

    thread = threading.Thread(target=loop, name="joinedup-live-jobs", daemon=True)
    thread.start()

    def stop_jobs() -> None:
        stop.set()
        thread.join(timeout=every_seconds + 30)

    return stop_jobs
