"""End to end through the real feed pipeline: HL7 v2 ADT bytes in → outbox → board and tasks.

The A01/A03 messages below are shaped like the synthetic PAS's (HL7 v2.4, segments ending \\r,
PV1-19 the spell id, PV1-36 the discharge disposition); NHS numbers are in the 999 test range.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination import pathway_instances, process_outbox, referrals, tasks
from joinedup.coordination.board import board
from joinedup.coordination.schemas import ReferralCreate, TriageDecision
from joinedup.feeds import ingest_paths
from joinedup.model import Actor
from joinedup.store.tables import SourcePatient

NHS = "9990000018"


def _adt(event: str, control_id: str, when: datetime, *, ward: str, admit: str = "", discharge: str = "",
         disposition: str = "") -> str:
    stamp = when.strftime("%Y%m%d%H%M%S")
    segments = [
        f"MSH|^~\\&|PAS|RZZ|JOINEDUP|ZCC01|{stamp}||ADT^{event}^ADT_A01|{control_id}|P|2.4",
        f"EVN|{event}|{stamp}",
        f"PID|1||M0001^^^RZZ^MR~{NHS}^^^NHS^NH||TESTER^ANNA||19400115|F|||1 HIGH ST^^SYNTHFORD^^ZZ1 1ZZ",
        f"PV1|1|I|{ward}^^^RZZ|E||^^^RZZ|C1234567|||300|||||||||SP0001" + "|" * 17 + f"{disposition}||||||||"
        + f"{admit}|{discharge}",
    ]
    return "\r".join(segments) + "\r"


def _ingest(session: Session, folder: Path, name: str, message: str) -> None:
    path = folder / "hospital-pas" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(message)
    ingest_paths(session, [path])
    session.commit()


def test_hl7_admission_and_discharge_reach_the_board(
    session: Session, coordinator: Actor, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    admitted = now - timedelta(days=2)
    _ingest(session, tmp_path, "adt-a08.hl7", _adt("A08", "MSG0", admitted - timedelta(days=30), ward="OPD"))
    person = session.scalar(select(SourcePatient.person_id).where(SourcePatient.nhs_number == NHS))
    assert person is not None
    assert process_outbox(session) == 0  # an A08 is not news for the centre

    referral = referrals.receive_referral(
        session, actor=coordinator,
        request=ReferralCreate(person_id=person, reason="HF follow-up", suggested_pathway_id="heart-failure"),
    )
    referrals.triage_referral(session, actor=coordinator, referral_id=referral.referral_id,
                              decision=TriageDecision(outcome="accept", reason="known HF"))

    stamp = admitted.strftime("%Y%m%d%H%M%S")
    _ingest(session, tmp_path, "adt-a01.hl7", _adt("A01", "MSG1", admitted, ward="CARDIO", admit=stamp))
    assert process_outbox(session) == 1
    [row] = board(session, actor=coordinator)
    assert (row.person_id, row.place, row.ward, row.place_since_at, row.flags) == (
        person, "admitted", "CARDIO", admitted, ("admitted",),
    )
    planning = {t.kind for t in tasks.queue(session, actor=coordinator) if t.origin == "discharge_planning"}
    assert planning == {"contact_ward", "expected_discharge_date", "needs_at_home"}

    discharged = admitted + timedelta(days=1, hours=3)
    _ingest(session, tmp_path, "adt-a03.hl7", _adt(
        "A03", "MSG2", discharged, ward="CARDIO", admit=stamp, discharge=discharged.strftime("%Y%m%d%H%M%S"),
        disposition="01",
    ))
    assert process_outbox(session) == 1
    [row] = board(session, actor=coordinator)
    assert (row.place, row.place_since_at, row.flags) == ("home", discharged, ())
    follow_ups = sorted(
        (t.kind, t.due_at) for t in tasks.queue(session, actor=coordinator) if t.origin == "pathway_step"
        and t.step_id == "first-days-home"
    )
    assert follow_ups == [
        ("book_gp_review", discharged + timedelta(hours=120)),
        ("phone_patient", discharged + timedelta(hours=48)),
    ]
    pathways = {i.pathway_id: i.status for i in pathway_instances.pathway_instances_for(
        session, actor=coordinator, person_id=person)}
    assert pathways == {"heart-failure": "active", "post-discharge": "active"}
