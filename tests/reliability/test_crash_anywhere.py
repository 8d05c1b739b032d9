"""SIGKILL the MLLP listener and an audit writer at random points: nothing ACKed is lost, nothing doubled,
the audit chain verifies. The ingest-file case is ``tests/feeds/test_resume.py``; the long version of
these runs many times (``scripts/reliability crash``)."""

from __future__ import annotations

import os
import random
from pathlib import Path

from joinedup.settings import load_settings
from joinedup.store import make_engine, upgrade_store

from .crash import CrashReport, audit_crash_run, crash_run


def test_killed_mllp_listener_loses_no_acked_message_and_doubles_none(tmp_path: Path) -> None:
    report = CrashReport()
    rng = random.Random(13)
    runs = int(os.environ.get("JOINEDUP_CRASH_RUNS", "1"))  # scripts/reliability: many
    for run in range(runs):
        url = f"sqlite:///{tmp_path / f'store{run}.sqlite'}"
        engine = make_engine(url)
        upgrade_store(engine)
        engine.dispose()
        crash_run(url, messages=40, rng=rng, report=report)
    assert (report.runs, report.kills, report.messages) == (runs, runs, 40 * runs)
    assert report.acked_checked > 0, "no message was ACKed before the kill: nothing was proven"
    assert (report.lost, report.doubled) == (0, 0)
    print(f"crash figures: {report}")


def test_killed_audit_writer_leaves_the_chain_intact(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    engine = make_engine(settings.resolved_database_url)
    upgrade_store(engine)
    engine.dispose()
    report = CrashReport()
    audit_crash_run(tmp_path, settings, random.Random(13), report)
    assert report.audit_entries > 10, "the writer was killed before it wrote enough to prove anything"
    assert report.audit_problems == []
