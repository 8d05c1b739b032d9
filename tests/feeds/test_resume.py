"""Kill an ingest with SIGKILL mid-run, start it again: the store ends exactly as after a clean run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from joinedup.feeds import ingest_paths
from joinedup.store import make_engine, make_session_factory, upgrade_store
from joinedup.store.tables import Base

from .builders import adt

RUN = """
import sys
import time
from pathlib import Path
import joinedup.feeds._pipeline as pipeline
from joinedup.feeds import ingest_paths

# Slow each batch down a little so the test can kill the run in the middle, on any machine.
_ingest_batch = pipeline.Pipeline.ingest_batch
def _slow_batch(*args, **kwargs):
    time.sleep(0.05)
    return _ingest_batch(*args, **kwargs)
pipeline.Pipeline.ingest_batch = _slow_batch
from joinedup.store import make_engine, make_session_factory
engine = make_engine(sys.argv[1])
with make_session_factory(engine)() as session:
    summary = ingest_paths(session, [Path(sys.argv[2])], batch_size=int(sys.argv[3]))
print(summary.read)
"""

VOLATILE = {"received_at", "updated_at", "created_at", "started_at", "finished_at", "linked_at", "resolved_at"}


def _write_feed(folder: Path, people: int) -> int:
    messages = []
    for n in range(people):
        visit, mrn = f"SP{n:05d}", f"M{n:05d}"
        admit, leave = f"202401{1 + n % 28:02d}083000", f"202402{1 + n % 28:02d}160000"
        messages += [
            adt("A01", f"A{n}", admit, mrn=mrn, visit=visit, admit=admit, nhs=None),
            adt("A03", f"D{n}", leave, mrn=mrn, visit=visit, admit=admit, discharge=leave, nhs=None),
        ]
    messages.append(adt("A01", "BAD", "20240101000000", visit="", admit="20240101000000"))
    pas = folder / "hospital-pas"
    pas.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    (pas / "adt-2024-01.hl7").write_text("\n".join(messages))
    return len(messages)


def _snapshot(engine: Engine) -> dict[str, list[Any]]:
    """Every row of the feed's tables, without surrogate ids and wall-clock times, sorted."""
    keys = dict(zip(*zip(*_patient_keys(engine), strict=True), strict=True))
    snapshot: dict[str, list[Any]] = {}
    with engine.connect() as connection:
        for name in ("source_patient", "encounter", "outbox_event", "feed_message", "quarantine_item",
                     "ingested_file"):
            table = Base.metadata.tables[name]
            rows = []
            for row in connection.execute(select(table)).mappings():
                values = {k: v for k, v in row.items() if k not in VOLATILE and not k.endswith("_id")}
                values["patient"] = keys.get(row.get("source_patient_id"))
                if name == "outbox_event":
                    payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
                    values["payload"] = {k: v for k, v in payload.items() if not k.endswith("_id")}
                if name == "ingested_file":
                    values.pop("file_path")
                rows.append(json.dumps(values, sort_keys=True, default=str))
            snapshot[name] = sorted(rows)
    return snapshot


def _patient_keys(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT source_patient_id, local_id FROM source_patient"))
        return [(row[0], row[1]) for row in rows]


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def test_killed_run_resumed_equals_a_clean_run(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    total = _write_feed(folder, people=100)
    command = [sys.executable, "-c", RUN, database_url, str(folder), "10"]
    watcher = make_engine(database_url)
    process = subprocess.Popen(command, env={**os.environ}, stdout=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _count(watcher, "SELECT count(*) FROM feed_message") < total // 3:
        assert process.poll() is None, "the run finished before it could be killed; make the feed bigger"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = _count(watcher, "SELECT count(*) FROM feed_message")
    watcher.dispose()
    assert 0 < killed_at < total
    resumed = subprocess.run(command, capture_output=True, check=True, text=True)
    # The resumed run starts after the units already committed (ingested_file.committed_count).
    assert int(resumed.stdout.strip()) == total - _committed_before(killed_at)

    clean_url = f"sqlite:///{tmp_path / 'clean.sqlite'}"
    clean = make_engine(clean_url)
    upgrade_store(clean)
    with make_session_factory(clean)() as session:
        assert ingest_paths(session, [folder], batch_size=10).read == total
    resumed_engine = make_engine(database_url)
    try:
        assert _snapshot(resumed_engine) == _snapshot(clean)
    finally:
        resumed_engine.dispose()
        clean.dispose()


def _committed_before(feed_messages: int) -> int:
    # Units and feed messages are one to one in this feed (no duplicates), so what was committed
    # before the kill is exactly what the resumed run skips.
    return feed_messages
