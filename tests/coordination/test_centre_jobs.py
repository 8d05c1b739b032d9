"""Setting up the centre and one run of its jobs (what ``joinedup coordination setup/run`` call)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from joinedup.coordination import bookings
from joinedup.coordination.centre import CentreRun, run_centre_jobs, set_up_centre
from joinedup.store.tables import utc_now

from .conftest import PersonFactory, add_outbox_event


def test_set_up_then_run_reads_news_and_escalates(session: Session, add_person: PersonFactory) -> None:
    first = set_up_centre(session)
    again = set_up_centre(session)
    assert (first.teams, first.services, again.services) == (("coordination-centre", "discharge-support"), 16, 16)
    assert len(bookings.list_services(session)) == 16
    assert [s.service_id for s in bookings.list_services(session, kind="rehab")] == [
        "cardiac-rehab", "pulmonary-rehab", "strength-balance",
    ]
    person = add_person(birth_date=date(1990, 1, 1))
    add_outbox_event(session, "adt.attend", person, utc_now() - timedelta(hours=1), ward="ED")
    session.commit()
    assert run_centre_jobs(session) == CentreRun(outbox_events=1, tasks_escalated=0, steps_flagged=0)
    assert run_centre_jobs(session) == CentreRun(outbox_events=0, tasks_escalated=0, steps_flagged=0)
