"""Quarantine: list, correct, replay; incremental runs; no patient identifiers in the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from joinedup.feeds import correct_quarantine_item, ingest_paths, list_quarantine, replay_quarantine

from .builders import NHS_BAD_CHECK, NHS_VALID, adt, count_rows, ingest_hl7


def test_corrected_item_replays_into_the_record(session: Session) -> None:
    broken = adt("A01", "Q1", "20240110083000", admit="20240110083000", patient_class="Q")
    assert ingest_hl7(session, broken)[0].reason_code == "unknown_code"
    [entry] = list_quarantine(session)
    assert (entry.stage, entry.reason, entry.source) == ("map", "PV1-2: not a patient class joinedup knows",
                                                         "hospital-pas")
    # Replaying unchanged fails the same way and stays open.
    again = replay_quarantine(session)
    assert (again.read, dict(again.quarantined)) == (1, {"unknown_code": 1})
    assert len(list_quarantine(session)) == 1
    correct_quarantine_item(session, entry.quarantine_item_id, broken.replace("PV1|1|Q|", "PV1|1|I|").encode())
    summary = replay_quarantine(session)
    assert (summary.accepted, summary.replayed, summary.quarantined_count) == (1, 1, 0)
    assert list_quarantine(session) == []
    assert [e.quarantine_item_id for e in list_quarantine(session, status="replayed")] == [entry.quarantine_item_id]
    assert count_rows(session, "encounter", "status = 'in-progress'") == 1
    assert session.execute(text("SELECT status FROM feed_message")).scalar_one() == "accepted"


def test_daily_runs_skip_files_already_done(session: Session, feed_dir: Path) -> None:
    pas = feed_dir / "hospital-pas"
    pas.mkdir()
    (pas / "adt-2024-01.hl7").write_text(adt("A01", "D1", "20240110083000", admit="20240110083000"))
    first = ingest_paths(session, [feed_dir])
    (pas / "adt-2024-02.hl7").write_text(adt("A03", "D2", "20240201083000", admit="20240110083000",
                                             discharge="20240201083000"))
    second = ingest_paths(session, [feed_dir])
    assert (first.files_read, first.accepted) == (1, 1)
    assert (second.files_read, second.files_skipped, second.read, second.updated) == (1, 1, 1, 1)
    third = ingest_paths(session, [feed_dir])
    assert (third.files_read, third.files_skipped, third.read) == (0, 2, 0)


def test_no_patient_identifiers_reach_the_logs(session: Session, feed_dir: Path, caplog: pytest.LogCaptureFixture,
                                               ) -> None:
    caplog.set_level(logging.DEBUG)
    pas = feed_dir / "hospital-pas"
    pas.mkdir()
    messages = [
        adt("A01", "L1", "20240110083000", admit="20240110083000", family="ZEBEDEE", nhs=NHS_VALID),
        adt("A01", "L2", "20240110083000", admit="2024XX", family="QUIXOTE", nhs=NHS_BAD_CHECK, mrn="M7", visit="S7"),
        "garbage " + NHS_VALID,
    ]
    (pas / "adt-2024-01.hl7").write_text("\n".join(messages))
    summary = ingest_paths(session, [feed_dir])
    # Lines are segments too: the garbage line is read as a broken segment of the second message.
    assert (summary.read, summary.accepted, summary.quarantined_count) == (2, 1, 1)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (NHS_VALID, NHS_BAD_CHECK, "ZEBEDEE", "QUIXOTE", "19400115", "ZZ1 1ZZ"):
        assert secret not in logged
    reasons = session.execute(text("SELECT reason FROM quarantine_item")).scalar_one()
    assert reasons == (
        "segment 5: not an HL7 segment (no 3-character segment id); PV1-44: not a valid HL7 date-time"
    )
    for secret in (NHS_VALID, NHS_BAD_CHECK, "QUIXOTE", "2024XX"):
        assert secret not in reasons


def test_file_with_no_layout_replays_once_its_columns_are_known(session: Session, feed_dir: Path) -> None:
    path = feed_dir / "hospital-sus" / "apc-2024-01.csv"
    path.parent.mkdir()
    path.write_text("SPELL,PATIENT\nSP1,M1\n")
    assert dict(ingest_paths(session, [feed_dir]).quarantined) == {"unknown_layout": 1}
    [entry] = list_quarantine(session)
    # The producer's column names are corrected (here: the file itself, to the SUS APC layout's).
    fixed = "SUSSPELLID,LOPATID,ADMIDATE,ADMIMETH,DISDATE\nSP1,M1,2024-01-10,21,2024-01-12\n"
    correct_quarantine_item(session, entry.quarantine_item_id, fixed.encode())
    summary = replay_quarantine(session)
    assert (summary.accepted, summary.replayed) == (1, 1)
    assert list_quarantine(session) == []
    row = session.execute(text("SELECT source, setting, admission_method FROM encounter")).one()
    assert tuple(row) == ("hospital-pas", "inpatient", "emergency")


def test_a_unit_identity_cannot_link_is_quarantined_and_the_rest_go_in(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import joinedup.feeds._pipeline as pipeline
    from joinedup.identity import IdentityError

    real_link = pipeline.link_new_source_patients

    def link(session_: Session, ids: list[int]) -> object:
        names = session_.execute(text("SELECT local_id FROM source_patient WHERE source_patient_id IN "
                                      f"({','.join(str(i) for i in ids)})")).scalars().all()
        if "M0666" in names:
            raise IdentityError("cannot link")
        return real_link(session_, ids)

    monkeypatch.setattr(pipeline, "link_new_source_patients", link)
    outcomes = ingest_hl7(session, adt("A01", "I1", "20240110083000", admit="20240110083000"),
                          adt("A01", "I2", "20240110083000", admit="20240110083000", mrn="M0666", visit="SP666"))
    assert [(o.status, o.reason_code) for o in outcomes] == [("accepted", None), ("quarantined", "identity_refused")]
    assert session.execute(text("SELECT stage FROM quarantine_item")).scalar_one() == "identity"
    assert count_rows(session, "encounter") == 1
