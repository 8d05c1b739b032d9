"""Hostile feed folders through the real ingest into a real store: every unit is accounted for.

After each run: read = accepted + duplicates + quarantined; every quarantined feed message has one
open quarantine item with a reason; no record row exists without an accepted message; every file
is marked done. Oversized units are quarantined unread at the documented limit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from joinedup.feeds import FeedUnit, Pipeline, ingest_paths
from joinedup.feeds._pipeline import MAX_UNIT_BYTES
from joinedup.feeds.fhir.adapter import FhirAdapter
from joinedup.store import make_session_factory

from .seeds import PAS_SEEDS, SUS_APC_CSV, fhir_seeds, hl7_seeds, within
from .strategies import mutated

StoreMaker = Callable[[], Engine]


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def _write_folder(root: Path, hl7: bytes, fhir: bytes, csv: bytes) -> None:
    for relative, data in (("hospital-pas/adt-2024-01.hl7", hl7), ("gp/daily/2024-01-10.json", fhir),
                           ("hospital-sus/apc-2024-01.csv", csv)):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "manifest.json").write_text("{}")


def _assert_accounted(engine: Engine, accepted: int, quarantined: int) -> None:
    assert _scalar(engine, "SELECT count(*) FROM feed_message") == accepted + quarantined
    assert _scalar(engine, "SELECT count(*) FROM feed_message WHERE status='accepted'") == accepted
    assert _scalar(engine, "SELECT count(*) FROM quarantine_item WHERE status='open'") == quarantined
    assert _scalar(engine, "SELECT count(*) FROM quarantine_item WHERE reason = '' OR reason_code = ''") == 0
    # Each quarantined message has its item (same source and id), and nothing else does.
    assert _scalar(engine, """SELECT count(*) FROM feed_message f JOIN quarantine_item q
                              ON q.source = f.source AND q.source_message_id = f.source_message_id
                              WHERE f.status = 'quarantined'""") == quarantined
    if accepted == 0:  # no half-written records: rows only ever come with an accepted message
        for table in ("source_patient", "encounter", "condition", "observation", "outbox_event"):
            assert _scalar(engine, f"SELECT count(*) FROM {table}") == 0, table
    assert _scalar(engine, "SELECT count(*) FROM ingested_file WHERE status <> 'done'") == 0


LONG_EXAMPLES = int(os.environ.get("JOINEDUP_FUZZ_EXAMPLES", "60"))


@settings(max_examples=max(20, LONG_EXAMPLES // 3), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hl7=mutated(hl7_seeds()[:20] + PAS_SEEDS), fhir=mutated(fhir_seeds()[:20]), csv=mutated((SUS_APC_CSV,)),
       batch_size=st.sampled_from((1, 3, 1000)))
def test_hostile_folders_are_ingested_with_every_unit_accounted_for(
    fresh_store: StoreMaker, tmp_path_factory: pytest.TempPathFactory, hl7: bytes, fhir: bytes, csv: bytes,
    batch_size: int,
) -> None:
    folder = tmp_path_factory.mktemp("feed")
    _write_folder(folder, hl7, fhir, csv)
    engine = fresh_store()
    try:
        with within(30), make_session_factory(engine)() as session:
            summary = ingest_paths(session, [folder], batch_size=batch_size)
        assert summary.read == summary.accepted + summary.duplicates + summary.quarantined_count
        assert summary.files_read == 3
        _assert_accounted(engine, summary.accepted, summary.quarantined_count)
        # A second run of the same folder changes nothing: every file is done.
        with make_session_factory(engine)() as session:
            again = ingest_paths(session, [folder], batch_size=batch_size)
        assert (again.read, again.files_skipped) == (0, 3)
    finally:
        engine.dispose()


def test_a_unit_over_the_limit_is_quarantined_unread_with_the_limit_named(fresh_store: StoreMaker) -> None:
    engine = fresh_store()
    sessions = make_session_factory(engine)
    small = orjson.dumps({"resourceType": "Patient", "id": "p1", "name": [{"family": "X" * 2000}]})
    with sessions() as session:
        outcomes = Pipeline(max_unit_bytes=1000).ingest_batch(
            session, FhirAdapter(), [FeedUnit("gp", "fhir", small, "1")])
    assert [(o.status, o.reason_code, o.stage) for o in outcomes] == [("quarantined", "too_large", "parse")]
    assert outcomes[0].reason == f"the unit is {len(small)} bytes, over the limit of 1000 bytes"
    _assert_accounted(engine, 0, 1)
    engine.dispose()


def test_the_default_limit_is_16_mib_and_applies_to_files(fresh_store: StoreMaker, tmp_path: Path) -> None:
    assert MAX_UNIT_BYTES == 16 * 1024 * 1024
    big = tmp_path / "feed" / "gp" / "daily" / "2024-01-10.json"
    big.parent.mkdir(parents=True)
    (tmp_path / "feed" / "manifest.json").write_text("{}")
    big.write_bytes(b'{"resourceType": "Bundle", "id": "b1", "type": "transaction", "entry": [], "pad": "'
                    + b"x" * MAX_UNIT_BYTES + b'"}')
    engine = fresh_store()
    with make_session_factory(engine)() as session:
        summary = ingest_paths(session, [tmp_path / "feed"])
    assert (summary.read, dict(summary.quarantined)) == (1, {"too_large": 1})
    _assert_accounted(engine, 0, 1)
    engine.dispose()


@pytest.mark.parametrize(
    ("name", "csv", "expected"),
    [
        # Found by the long fuzz run: both used to abort the whole ingest with an exception.
        ("empty first line", b"\n" + SUS_APC_CSV, {"unknown_layout": 1}),
        ("field over the csv limit", SUS_APC_CSV + b'"' + b"x" * 200_000 + b'",1\r\n', {"malformed_row": 1}),
    ],
)
def test_unreadable_csv_files_are_quarantined_not_fatal(
    fresh_store: StoreMaker, tmp_path: Path, name: str, csv: bytes, expected: dict[str, int]
) -> None:
    folder = tmp_path / "feed"
    path = folder / "hospital-sus" / "apc-2024-01.csv"
    path.parent.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    path.write_bytes(csv)
    engine = fresh_store()
    with make_session_factory(engine)() as session:
        summary = ingest_paths(session, [folder])
    accepted = 0 if "unknown_layout" in expected else 2
    assert (summary.accepted, dict(summary.quarantined)) == (accepted, expected), name
    _assert_accounted(engine, accepted, 1)
    engine.dispose()
