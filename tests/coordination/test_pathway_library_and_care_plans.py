"""The pathway library as validated, versioned data; care plans in the FHIR CarePlan shape."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B.careplan import CarePlan as FhirCarePlan
from sqlalchemy.orm import Session

from joinedup.coordination import care_plans, telehealth_alerts
from joinedup.coordination.errors import PathwayError
from joinedup.coordination.pathway_library import PATHWAY_FOLDER, load_pathway_library, read_pathway_file
from joinedup.coordination.schemas import Activity, CarePlanCreate, Goal, Threshold
from joinedup.governance import grant_relationship
from joinedup.model import Actor
from joinedup.store.tables import utc_now

from .conftest import PersonFactory, add_observation


def test_shipped_pathways_load_and_cite_their_guidance() -> None:
    library = load_pathway_library()
    assert {p.pathway_id: tuple(s.reference for s in p.sources) for p in library.latest()} == {
        "copd": ("NICE NG115",),
        "diabetes": ("NICE NG28", "NHS RightCare"),
        "end-of-life": ("NICE NG142", "NICE QS13"),
        "frailty-falls": ("NICE NG249", "NICE CG161"),
        "heart-failure": ("NICE NG106",),
        "post-discharge": ("NICE NG27", "NICE NG5"),
    }
    diabetes = library.get("diabetes")
    options = {o.answer: (o.next_step, o.when_code, o.when_at_least, o.when_below)
               for o in diabetes.step("structured-review").decision.options}  # type: ignore[union-attr]
    assert options == {
        "hba1c_75_or_more": ("individual-care-plan", "4548-4", 75.0, None),
        "hba1c_below_75": ("structured-education", "4548-4", None, 75.0),
    }
    heart_failure = library.get("heart-failure")
    [weight] = heart_failure.telehealth_thresholds
    assert (weight.kind, weight.amount, weight.days, weight.unit) == ("rise_within_days", 2.0, 3, "kg")


def test_a_broken_pathway_file_is_refused_with_the_field_at_fault(tmp_path: Path) -> None:
    text = (PATHWAY_FOLDER / "copd.v1.yaml").read_text().replace("next_step: annual-review", "next_step: nowhere")
    (tmp_path / "copd.v1.yaml").write_text(text)
    with pytest.raises(PathwayError, match=r"copd\.v1\.yaml is invalid: .*leads to unknown step 'nowhere'"):
        read_pathway_file(tmp_path / "copd.v1.yaml")
    fixed = text.replace("nowhere", "annual-review")
    (tmp_path / "copd.v1.yaml").write_text(fixed.replace("amount: 88", "amount: lots"))
    with pytest.raises(PathwayError, match=r"telehealth_thresholds\.0\.amount"):
        read_pathway_file(tmp_path / "copd.v1.yaml")


def test_a_new_version_becomes_the_latest_and_the_old_one_stays(tmp_path: Path) -> None:
    shutil.copy(PATHWAY_FOLDER / "heart-failure.v1.yaml", tmp_path / "heart-failure.v1.yaml")
    text = (PATHWAY_FOLDER / "heart-failure.v1.yaml").read_text()
    (tmp_path / "heart-failure.v2.yaml").write_text(
        text.replace("version: 1", "version: 2").replace("expected_within_days: 182", "expected_within_days: 91")
    )
    library = load_pathway_library(tmp_path)
    assert library.get("heart-failure").version == 2
    assert library.get("heart-failure", 1).step("monitoring-and-review").expected_within_days == 182
    assert library.get("heart-failure").step("monitoring-and-review").expected_within_days == 91
    with pytest.raises(PathwayError, match="no version 3"):
        library.get("heart-failure", 3)


def test_care_plan_is_a_valid_fhir_careplan_and_its_thresholds_are_watched(
    session: Session, coordinator: Actor, add_person: PersonFactory
) -> None:
    person = add_person()
    grant_relationship(session, person_id=person, team_id="coordination-centre", kind="coordination")
    plan = care_plans.write_care_plan(
        session, actor=coordinator,
        request=CarePlanCreate(
            person_id=person, title="Heart failure care plan",
            what_matters_to_me="Staying at home with my dog; walking to the shop",
            goals=(Goal(description="Walk to the shop and back", target="3 times a week", due_date=date(2027, 2, 1)),),
            activities=(Activity(description="Weigh every morning", responsible="Patient"),
                        Activity(description="Titrate bisoprolol", responsible="HF specialist nurse")),
            thresholds=(Threshold(codes=("29463-7",), kind="rise_within_days", amount=1.5, days=2, unit="kg",
                                  label="Weight gain of more than 1.5 kg in 2 days"),),
            care_team=("GP", "HF specialist nurse"), review_date=date(2027, 3, 1),
        ),
    )
    resource = care_plans.care_plan_to_fhir(plan)
    parsed = FhirCarePlan.model_validate(resource)
    assert (parsed.status, parsed.intent, parsed.subject.reference) == ("active", "plan", f"Patient/{person}")
    assert [a.detail.performer[0].display for a in parsed.activity] == ["Patient", "HF specialist nurse"]
    assert resource["note"][0]["text"] == "What matters to me: Staying at home with my dog; walking to the shop"

    now = utc_now()
    add_observation(session, person, "29463-7", 70.0, "kg", now - timedelta(days=1), "w1")
    reading = telehealth_alerts.Reading(person_id=person, code="29463-7", value=71.6, unit="kg", measured_at=now)
    assert telehealth_alerts.breached_thresholds(session, reading) == ["Weight gain of more than 1.5 kg in 2 days"]

    replaced = care_plans.write_care_plan(
        session, actor=coordinator, request=CarePlanCreate(person_id=person, title="Revised plan"),
    )
    active = care_plans.active_care_plan(session, actor=coordinator, person_id=person)
    assert active is not None
    assert (active.care_plan_id, active.title) == (replaced.care_plan_id, "Revised plan")


def test_the_centres_work_reads_as_valid_fhir_r4(
    session: Session, coordinator: Actor, add_person: PersonFactory
) -> None:
    from fhir.resources.R4B.episodeofcare import EpisodeOfCare
    from fhir.resources.R4B.flag import Flag
    from fhir.resources.R4B.servicerequest import ServiceRequest
    from fhir.resources.R4B.task import Task as FhirTask

    from joinedup.coordination import fhir_resources, referrals, tasks
    from joinedup.coordination.schemas import ReferralCreate, TriageDecision
    from joinedup.errors import NotFound
    from joinedup.store.tables.coordination import BoardFlag

    person = add_person()
    referral = referrals.receive_referral(
        session, actor=coordinator,
        request=ReferralCreate(person_id=person, reason="Falls x2", urgency="urgent",
                               suggested_pathway_id="frailty-falls", notes="Lives alone"),
    )
    accepted = referrals.triage_referral(session, actor=coordinator, referral_id=referral.referral_id,
                                         decision=TriageDecision(outcome="accept", reason="frail, falls"))
    [task] = tasks.queue(session, actor=coordinator)
    flag = BoardFlag(person_id=person, kind="alert", detail="SpO2 86 %", raised_at=utc_now())
    session.add(flag)
    session.commit()

    def read(kind: str, key: int) -> dict[str, object]:
        return fhir_resources.read_fhir(session, actor=coordinator, resource_type=kind, resource_id=str(key))

    request = ServiceRequest.model_validate(read("ServiceRequest", referral.referral_id))
    assert (request.status, request.priority, request.subject.reference) == ("completed", "urgent", f"Patient/{person}")
    fhir_task = FhirTask.model_validate(read("Task", task.task_id))
    assert (fhir_task.status, fhir_task.description) == ("requested", "Book falls risk assessment (home visit)")
    episode = EpisodeOfCare.model_validate(read("EpisodeOfCare", accepted.pathway_instance_id or 0))
    assert (episode.status, episode.type[0].coding[0].code) == ("active", "frailty-falls")
    alert = Flag.model_validate(read("Flag", flag.board_flag_id))
    assert (alert.status, alert.code.text) == ("active", "Telehealth alert: SpO2 86 %")
    with pytest.raises(NotFound):
        read("Task", 999_999)
