"""'Who has looked at my record': the reads of others, one line per visit, with the basis."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied
from joinedup.record import PORTAL_SECTIONS, access_history, patient_record

from .seed import ANN, PRACTICE_ANN, PRACTICE_OTHER, TRUST, actor, seed_record


def test_a_patient_sees_each_visit_once_with_why(session: Session) -> None:
    seed_record(session)
    ann = actor("patient", person_id=ANN)
    patient_record(session, actor=actor("gp", org=PRACTICE_ANN), person_id=ANN)
    patient_record(session, actor=actor("consultant", org=TRUST), person_id=ANN, sections={"medications"})
    with pytest.raises(AccessDenied):
        patient_record(session, actor=actor("gp", org=PRACTICE_OTHER), person_id=ANN)
    # Ann's own look is not listed.
    patient_record(session, actor=ann, person_id=ANN, sections=PORTAL_SECTIONS)

    looks = access_history(session, actor=ann, person_id=ANN)
    assert [(look.role, look.org_name) for look in looks] == [
        ("consultant", "Borough General Hospital"),
        ("gp", "Riverside Surgery"),
    ]
    assert looks[0].what == ("medication", "patient")
    assert looks[0].basis == "admission"
    assert looks[1].basis == "registered_practice"
    assert "observation" in looks[1].what
    with pytest.raises(AccessDenied):
        access_history(session, actor=actor("gp", org=PRACTICE_ANN), person_id=ANN)
