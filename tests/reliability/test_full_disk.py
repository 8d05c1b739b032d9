"""A full disk while ingesting: reported clearly, nothing half-written, and a re-run after space returns
ends exactly where a clean run does.

Three real ways of running out of room, no mocks:

- SQLite's own limit (``PRAGMA max_page_count``): the engine refuses to grow the file and answers
  ``SQLITE_FULL`` ("database or disk is full"), in process, through ``ingest_paths``;
- the operating system's file-size limit (``RLIMIT_FSIZE``) on a ``joinedup ingest`` process: the
  kernel refuses the write with ``EFBIG`` (``SIGXFSZ`` ignored) and SQLite answers ``SQLITE_IOERR_WRITE``;
- a small ``tmpfs`` holding the store, in a private mount namespace (``unshare --mount``): a real
  ``ENOSPC``. Skipped only where this machine may not mount (no root, no ``unshare``).

Each time: the command stops with one plain line (no traceback, no SQL, no message content), the store
passes ``PRAGMA integrity_check``, it holds a clean prefix of the feed (whole batches: each message with
its encounter, nothing quarantined for want of space), and once there is room again the same command
finishes the run to the same rows as a run that never ran out.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text

from feeds.builders import adt
from joinedup.feeds import ingest_paths
from joinedup.store import StoreFull, make_engine, make_session_factory, upgrade_store
from joinedup.store.tables import Base

# Whole batches of 1000 units, as `joinedup ingest` commits them.
FILES, PER_FILE, BATCH = 2, 1000, 1000
# Columns that differ between two runs of the same feed: clock times.
VOLATILE = {"received_at", "updated_at", "created_at", "started_at", "finished_at", "linked_at", "resolved_at",
            "occurred_at"}
TABLES = ("feed_message", "quarantine_item", "ingested_file", "source_patient", "encounter", "outbox_event")


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two months of a PAS's admissions (2,000 messages) and one message without a visit (quarantined)."""
    folder = tmp_path_factory.mktemp("full-disk-feed")
    pas = folder / "hospital-pas"
    pas.mkdir()
    for month in range(1, FILES + 1):
        messages = []
        for n in range(PER_FILE):
            visit, mrn = f"SP{month}{n:04d}", f"M{month}{n:04d}"
            admit = f"2024{month:02d}{1 + n % 28:02d}083000"
            messages.append(adt("A01", f"A{month}-{n}", admit, mrn=mrn, visit=visit, admit=admit, nhs=None))
        if month == FILES:
            messages.append(adt("A01", "NO-VISIT", "20240301000000", visit="", admit="20240301000000"))
        (pas / f"adt-2024-{month:02d}.hl7").write_text("\n".join(messages))
    return folder


def _new_store(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "joinedup.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_store(engine)
    engine.dispose()
    return path


def _snapshot(path: Path) -> dict[str, list[str]]:
    """Every row of the feed's tables without surrogate ids and clock times, sorted; and the people."""
    engine = make_engine(f"sqlite:///{path}")
    snapshot: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for name in TABLES:
            table = Base.metadata.tables[name]
            rows = []
            for row in connection.execute(select(table)).mappings():
                values = {k: v for k, v in row.items() if k not in VOLATILE and not k.endswith("_id")}
                if name == "outbox_event":
                    payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
                    values["payload"] = {k: v for k, v in payload.items() if not k.endswith("_id")}
                rows.append(json.dumps(values, sort_keys=True, default=str))
            snapshot[name] = sorted(rows)
        snapshot["person"] = [str(connection.execute(text("SELECT count(*) FROM person")).scalar_one())]
    engine.dispose()
    return snapshot


@pytest.fixture(scope="module")
def clean(feed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The store after a run that never ran out of space."""
    path = _new_store(tmp_path_factory.mktemp("full-disk-clean"))
    engine = make_engine(f"sqlite:///{path}")
    with make_session_factory(engine)() as session:
        summary = ingest_paths(session, [feed], batch_size=BATCH)
    engine.dispose()
    assert (summary.read, summary.accepted, summary.quarantined_count) == (FILES * PER_FILE + 1, FILES * PER_FILE, 1)
    return _snapshot(path)


def _feed_order(feed: Path) -> list[tuple[str, int]]:
    """(file, position) of every message in the order the run reads them."""
    order = []
    for path in sorted((feed / "hospital-pas").glob("*.hl7")):
        units = PER_FILE + (1 if path.name.endswith(f"{FILES:02d}.hl7") else 0)
        order += [(path.name, position) for position in range(1, units + 1)]
    return order


def _assert_whole_and_a_clean_prefix(path: Path, feed: Path) -> int:
    """The store after the failure: intact, and exactly the first messages of the feed, each complete."""
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = [(Path(file_path).name, int(position)) for file_path, position in
                  connection.execute("SELECT file_path, position FROM feed_message")]
        counts = {name: connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                  for name in ("encounter", "source_patient", "quarantine_item", "feed_message")}
    order = _feed_order(feed)
    assert 0 < len(stored) < len(order), "the limit should bite in the middle of the run"
    assert sorted(stored, key=order.index) == order[: len(stored)]
    assert len(stored) % BATCH == 0, "whole batches only"
    # Each message kept has its encounter and patient; none was parked in quarantine for want of space.
    assert counts == {"encounter": len(stored), "source_patient": len(stored), "quarantine_item": 0,
                      "feed_message": len(stored)}
    return len(stored)


def _assert_reported_plainly(message: str, code: str) -> None:
    assert "the store ran out of space while" in message
    assert code in message
    assert "run the same command again" in message
    for leak in ("Traceback", "INSERT", "SELECT", "M1000", "SP1", "A1-"):
        assert leak not in message, leak


def test_sqlite_page_limit_mid_ingest_is_reported_and_a_rerun_finishes(
    feed: Path, clean: dict[str, list[str]], tmp_path: Path
) -> None:
    path = _new_store(tmp_path / "store")
    capped = make_engine(f"sqlite:///{path}")
    with capped.connect() as connection:
        pages = connection.execute(text("PRAGMA page_count")).scalar_one()
    capped.dispose()

    def cap_pages(dbapi_connection: Any, _record: Any) -> None:
        # Room for one batch but not two (a batch takes some 280 pages of 4 KiB; the run about 570).
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 400}")

    event.listen(capped, "connect", cap_pages)
    with make_session_factory(capped)() as session, pytest.raises(StoreFull) as refused:
        ingest_paths(session, [feed], batch_size=BATCH)
    capped.dispose()
    _assert_reported_plainly(str(refused.value), "SQLITE_FULL")
    _assert_whole_and_a_clean_prefix(path, feed)

    roomy = make_engine(f"sqlite:///{path}")
    with make_session_factory(roomy)() as session:
        again = ingest_paths(session, [feed], batch_size=BATCH)
    roomy.dispose()
    assert again.quarantined_count == 1
    assert _snapshot(path) == clean


LIMITED_INGEST = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv = ["joinedup", *sys.argv[2:]]
runpy.run_module("joinedup.cli", run_name="__main__")
"""


def _cli_environment(home: Path, database: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("JOINEDUP_")}
    environment.update({"JOINEDUP_HOME": str(home), "JOINEDUP_DATABASE_URL": f"sqlite:///{database}",
                        "COLUMNS": "400", "PYTHONDONTWRITEBYTECODE": "1"})
    return environment


def _ingest_command(feed: Path) -> list[str]:
    return ["ingest", str(feed), "--json"]


def test_file_size_limit_during_the_ingest_command_is_reported_and_a_rerun_finishes(
    feed: Path, clean: dict[str, list[str]], tmp_path: Path
) -> None:
    path = _new_store(tmp_path / "store")
    environment = _cli_environment(tmp_path / "home", path)
    # No file may grow past the store's size + 1.6 MiB (the write-ahead log fills first): the run needs ~2.3 MiB.
    limit = path.stat().st_size + 1600 * 1024
    failed = subprocess.run([sys.executable, "-c", LIMITED_INGEST, str(limit), *_ingest_command(feed)],
                            capture_output=True, text=True, env=environment, timeout=300, check=False)
    assert failed.returncode == 1, failed.stderr[-2000:]
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, failed.stderr[-2000:]
    assert lines[0].startswith("error: ")
    _assert_reported_plainly(lines[0], "SQLITE_IOERR_WRITE")
    _assert_whole_and_a_clean_prefix(path, feed)

    again = subprocess.run([sys.executable, "-m", "joinedup.cli", *_ingest_command(feed)], capture_output=True,
                           text=True, env=environment, timeout=300, check=False)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["ingest"]["quarantined"] == 1
    assert _snapshot(path) == clean


# Runs as root in its own mount namespace: the tmpfs vanishes with the process, whatever happens.
IN_A_SMALL_TMPFS = """
import json, shutil, sqlite3, subprocess, sys
from pathlib import Path
mount, store, feed, home, kilobytes, out = sys.argv[1:7]
subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kilobytes}k", "tmpfs", mount], check=True)
database = Path(mount) / "joinedup.sqlite"
shutil.copyfile(store, database)
environment = {**json.loads(sys.argv[7]), "JOINEDUP_DATABASE_URL": f"sqlite:///{database}"}
command = [sys.executable, "-m", "joinedup.cli", "ingest", feed, "--json"]
def copy_out(name):  # SQLite's backup reads through the write-ahead log and writes outside the tmpfs
    with sqlite3.connect(database) as source, sqlite3.connect(Path(out) / name) as target:
        source.backup(target)
failed = subprocess.run(command, capture_output=True, text=True, env=environment)
copy_out("failed.sqlite")
subprocess.run(["mount", "-o", "remount,size=65536k", mount], check=True)
again = subprocess.run(command, capture_output=True, text=True, env=environment)
copy_out("again.sqlite")
print(json.dumps({"failed": [failed.returncode, failed.stderr], "again": [again.returncode, again.stderr,
                                                                          again.stdout]}))
"""


def _can_mount_a_private_tmpfs(scratch: Path) -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None or os.geteuid() != 0:
        return False
    scratch.mkdir(exist_ok=True)
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "-o",
                            "size=64k", "tmpfs", str(scratch)], capture_output=True, check=False)
    return probe.returncode == 0


def test_a_real_full_disk_tmpfs_is_reported_and_a_rerun_after_growing_it_finishes(
    feed: Path, clean: dict[str, list[str]], tmp_path: Path
) -> None:
    mount = tmp_path / "small-disk"
    if not _can_mount_a_private_tmpfs(mount):
        pytest.skip("cannot mount a tmpfs here (needs root and unshare); the other two variants still run")
    path = _new_store(tmp_path / "store")
    out = tmp_path / "out"
    out.mkdir()
    environment = _cli_environment(tmp_path / "home", path)
    # Room for the store, its shared-memory index (32 KiB) and 1.6 MiB more: the run needs ~2.3 MiB.
    kilobytes = path.stat().st_size // 1024 + 32 + 1600
    ran = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", IN_A_SMALL_TMPFS,
                          str(mount), str(path), str(feed), str(tmp_path / "home"), str(kilobytes), str(out),
                          json.dumps(environment)], capture_output=True, text=True, timeout=600, check=False)
    assert ran.returncode == 0, ran.stderr[-3000:]
    report = json.loads(ran.stdout)
    returncode, stderr = report["failed"]
    assert returncode == 1, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr[-2000:]
    _assert_reported_plainly(lines[0], "SQLITE_FULL")
    _assert_whole_and_a_clean_prefix(out / "failed.sqlite", feed)
    returncode, stderr, stdout = report["again"]
    assert returncode == 0, stderr[-2000:]
    assert json.loads(stdout)["ingest"]["quarantined"] == 1
    assert _snapshot(out / "again.sqlite") == clean
