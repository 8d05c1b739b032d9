"""The bulk path's speed-ups change nothing a user can see (issue 4).

- worker processes that parse and map ahead leave the store exactly as a run in one process;
- the first-load shortcut (no lookups in tables empty at the start) still sees another writer's rows;
- SQLite's fast date/time text is SQLAlchemy's own, value for value.
"""

from __future__ import annotations

import gc
import os
import random
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects import sqlite

from joinedup.feeds import _pipeline as pipeline_module
from joinedup.feeds import ingest as ingest_module
from joinedup.feeds import ingest_paths
from joinedup.feeds._pipeline import FeedUnit, Pipeline
from joinedup.feeds._store_rows import _bind_processor, table
from joinedup.feeds.hl7v2.adapter import Hl7v2Adapter
from joinedup.feeds.transports import files as files_module
from joinedup.feeds.transports.files import find_feed_files
from joinedup.store import make_engine, make_session_factory, upgrade_store

from .builders import patient_resource, transaction

synth = pytest.importorskip("joinedup.synth")

# Columns stamped with the time of the run (or a random person id): differ between any two runs.
RUN_COLUMNS = {"received_at", "updated_at", "created_at", "linked_at", "recorded_at", "started_at",
               "finished_at", "resolved_at", "person_id", "file_path"}
COMPARED = ("feed_message", "quarantine_item", "source_patient", "encounter", "condition", "observation",
            "medication", "outbox_event")


def _store(path: Path) -> Any:
    engine = make_engine(f"sqlite:///{path}")
    upgrade_store(engine)
    return engine


def _contents(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with engine.connect() as connection:
        for name in COMPARED:
            columns = [c.name for c in table(name).c if c.name not in RUN_COLUMNS]
            rows = connection.execute(text(f"SELECT {', '.join(columns)} FROM {name}")).all()
            out[name] = sorted(tuple(str(value) for value in row) for row in rows)
        out["persons"] = [connection.execute(text("SELECT count(DISTINCT person_id) FROM source_patient")).one()]
    return out


def test_worker_processes_leave_the_same_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    borough = tmp_path / "borough"
    synth.generate_economy(borough, people=30, years=1, seed=5, faults=0.08)
    # Small batches go to the workers too, so this small borough makes several batches of them.
    monkeypatch.setattr(pipeline_module, "POOL_MIN_UNITS", 20)
    results = {}
    for workers in (0, 2):
        engine = _store(tmp_path / f"w{workers}.sqlite")
        with make_session_factory(engine)() as session:
            summary = ingest_paths(session, [borough], batch_size=60, workers=workers)
        results[workers] = (summary.as_dict(), _contents(engine))
        engine.dispose()
    serial, pooled = results[0], results[2]
    assert serial[0] == pooled[0]
    assert serial[0]["quarantined"] > 0  # faults were injected, so the error path crossed the processes too
    for name in serial[1]:
        assert serial[1][name] == pooled[1][name], name


def _adt(control_id: str, mrn: str) -> bytes:
    return "\r".join([
        f"MSH|^~\\&|PAS|RZZ|JOINEDUP|ZCC01|20240105100000||ADT^A01^ADT_A01|{control_id}|P|2.4",
        "EVN|A01|20240105100000",
        f"PID|1||{mrn}^^^RZZ^MR||FAMILY^GIVEN||19400115|F",
        "PV1|1|I|W1^^^RZZ|E" + "|" * 15 + f"V{control_id}",
    ]).encode() + b"\r"


def test_first_load_shortcut_sees_another_writers_rows(tmp_path: Path) -> None:
    engine = _store(tmp_path / "store.sqlite")
    sessions = make_session_factory(engine)
    adapter = Hl7v2Adapter()
    unit = lambda control_id, mrn: FeedUnit("pas", "hl7v2", _adt(control_id, mrn))  # noqa: E731
    first = Pipeline(first_load=True, link=False)
    with sessions() as session:
        # The first batch finds every table empty: from now on it only asks about its own keys.
        assert [o.status for o in first.ingest_batch(session, adapter, [unit("M1", "A")])] == ["accepted"]
        # Another writer (an MLLP listener, say) stores a message and a patient meanwhile.
        with sessions() as other:
            assert Pipeline(link=False).ingest_batch(other, adapter, [unit("M2", "B")])[0].status == "accepted"
        # A new message for the other writer's patient: not looked up, so its insert clashes; the
        # batch is then taken again with lookups (the patient is found, not refused or doubled).
        outcomes = first.ingest_batch(session, adapter, [unit("M3", "B"), unit("M4", "C")])
        assert [o.status for o in outcomes] == ["accepted", "accepted"]
        # And the other writer's message itself, sent again, is a duplicate.
        assert first.ingest_batch(session, adapter, [unit("M2", "B")])[0].status == "duplicate"
        patients = session.execute(text("SELECT local_id FROM source_patient ORDER BY local_id")).scalars().all()
        visits = session.execute(text("SELECT count(*) FROM encounter")).scalar_one()
        quarantined = session.execute(text("SELECT count(*) FROM quarantine_item")).scalar_one()
    assert patients == ["A", "B", "C"]
    assert visits == 4
    assert quarantined == 0
    assert not first.first_load  # the shortcut is off for the rest of the run
    engine.dispose()


@pytest.mark.parametrize(("table_name", "column"), [("encounter", "start_at"), ("condition", "onset_date")])
def test_sqlite_date_text_is_sqlalchemys(table_name: str, column: str) -> None:
    dialect = sqlite.dialect()
    target = table(table_name).c[column]
    fast = _bind_processor(target, dialect)
    slow = target.type.dialect_impl(dialect).bind_processor(dialect)
    assert fast is not None
    assert slow is not None
    rng = random.Random(4)
    for _ in range(3000):
        if column.endswith("_date"):
            value: Any = date(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28))
        else:
            # UTC itself (every feed's times once parsed) takes a path of its own.
            zone = rng.choice((timezone(timedelta(minutes=rng.randint(-900, 900))), UTC))
            value = datetime(rng.randint(2, 9998), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                             rng.randint(0, 59), rng.randint(0, 59), rng.choice((0, rng.randint(0, 999_999))),
                             tzinfo=zone)
        assert fast(value) == slow(value)
    assert fast(None) is None
    # The same object twice (the batch's one "now"): the remembered text is still right.
    now = datetime(2024, 1, 5, 10, 0, tzinfo=UTC)
    assert fast(now) == fast(now) == slow(now)


def _day_bundle(day: int, patients: int) -> bytes:
    resources = []
    for n in range(patients):
        resources.append(patient_resource(f"p{day}-{n}"))
        resources.append({"resourceType": "Encounter", "id": f"e{day}-{n}", "status": "finished",
                          "class": {"code": "AMB"}, "subject": {"reference": f"Patient/p{day}-{n}"},
                          "period": {"start": f"2024-01-{day:02d}T10:00:00Z"}})
    return transaction(f"day-{day}", f"2024-01-{day:02d}T23:00:00Z", *resources)


def test_large_units_are_stored_in_smaller_transactions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch ends at a byte limit as well as a unit count: a year of daily GP Bundles is not held at once."""
    borough = tmp_path / "gp"
    borough.mkdir()
    for day in range(1, 11):
        (borough / f"2024-01-{day:02d}.json").write_bytes(_day_bundle(day, 20))
    size = max(path.stat().st_size for path in borough.iterdir())
    results = {}
    for limit in (10**9, size + 1):
        monkeypatch.setattr(files_module, "BATCH_BYTES", limit)
        engine = _store(tmp_path / f"store-{limit}.sqlite")
        commits: list[int] = []
        event.listen(engine, "commit", lambda _connection, counted=commits: counted.append(1))
        with make_session_factory(engine)() as session:
            summary = ingest_paths(session, [borough], batch_size=1000)
        results[limit] = (summary.as_dict(), _contents(engine), len(commits))
        engine.dispose()
    whole, split = results[10**9], results[size + 1]
    assert whole[0] == split[0]
    assert split[0]["accepted"] == 10
    assert whole[1] == split[1]
    assert split[2] >= whole[2] + 4  # two day-files per transaction, instead of all ten in one


def test_workers_are_started_only_for_large_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``joinedup ingest`` leaves ``workers`` to the run: none for a small load, one per core (up to 4) for a big one.
    """
    folder = tmp_path / "gp"
    folder.mkdir()
    (folder / "2024-01-01.json").write_bytes(_day_bundle(1, 5))
    feed_files, _ = find_feed_files([folder])
    assert ingest_module._workers_for(feed_files) == 0
    monkeypatch.setattr(ingest_module, "AUTO_WORKERS_BYTES", 100)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert ingest_module._workers_for(feed_files) == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)), raising=False)
    assert ingest_module._workers_for(feed_files) == ingest_module.MAX_AUTO_WORKERS
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert ingest_module._workers_for(feed_files) == 0


def test_ids_given_to_new_rows_are_the_stored_ones(tmp_path: Path) -> None:
    """Every id the pipeline hands on (to record rows, outbox events) names the row it means."""
    engine = _store(tmp_path / "store.sqlite")
    sessions = make_session_factory(engine)
    adapter = Hl7v2Adapter()
    pipeline = Pipeline(first_load=True, link=False)
    with sessions() as session:
        for start in range(0, 40, 7):  # batches of 7, mixing new and known patients
            units = [FeedUnit("pas", "hl7v2", _adt(f"M{n}", f"P{n % 9}")) for n in range(start, min(start + 7, 40))]
            assert {o.status for o in pipeline.ingest_batch(session, adapter, units)} <= {"accepted", "updated"}
        wrong_message = session.execute(text(
            "SELECT count(*) FROM encounter e JOIN feed_message f ON f.feed_message_id = e.feed_message_id "
            "WHERE 'V' || f.source_message_id != e.source_record_id")).scalar_one()
        wrong_event = session.execute(text(
            "SELECT count(*) FROM outbox_event o JOIN encounter e "
            "ON e.encounter_id = json_extract(o.payload, '$.encounter_id') "
            "JOIN feed_message f ON f.feed_message_id = json_extract(o.payload, '$.feed_message_id') "
            "WHERE e.source_record_id != 'V' || f.source_message_id "
            "OR e.source_patient_id != o.source_patient_id")).scalar_one()
        events = session.execute(text("SELECT count(*) FROM outbox_event")).scalar_one()
        patients = session.execute(text(
            "SELECT count(*) FROM encounter e JOIN source_patient p USING (source_patient_id)")).scalar_one()
    assert (wrong_message, wrong_event) == (0, 0)
    assert events == 40
    assert patients == 40
    engine.dispose()


def test_a_quarantined_unit_does_not_keep_its_batch_in_memory(tmp_path: Path) -> None:
    """A kept error must not hold the batch (its traceback's frames did, until a full collection)."""
    engine = _store(tmp_path / "store.sqlite")
    pipeline = Pipeline(first_load=True, link=False)

    def ingest_with_one_bad_unit(session: Any) -> list[str]:
        units = [FeedUnit("pas", "hl7v2", _adt(f"M{n}", f"P{n}")) for n in range(5)]
        units.append(FeedUnit("pas", "hl7v2", b"PID|not a message\r"))
        return [outcome.status for outcome in pipeline.ingest_batch(session, Hl7v2Adapter(), units)]

    gc.collect()
    gc.disable()  # what is left must be freed by reference counting alone
    try:
        with make_session_factory(engine)() as session:
            statuses = ingest_with_one_bad_unit(session)
        left = sum(1 for thing in gc.get_objects() if isinstance(thing, FeedUnit))
    finally:
        gc.enable()
    assert statuses == ["accepted"] * 5 + ["quarantined"]
    assert left == 0
    engine.dispose()
