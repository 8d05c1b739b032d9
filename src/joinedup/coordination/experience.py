"""Patient experience: the Friends and Family Test and a free-text comment, or a recorded decline.

Asked after discharge support and at pathway milestones, by SMS, phone or web form, recorded by
staff. Results by service and month; comments are shown to the service. A person can decline,
and the decline is kept so they are not asked again for that milestone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination.errors import StateConflict
from joinedup.errors import AccessDenied, NotFound
from joinedup.governance import authorise, record_audit
from joinedup.model import Actor
from joinedup.store.tables import Person, utc_now
from joinedup.store.tables.coordination import ExperienceSurvey

# The Friends and Family Test answer scale (NHS England, 2020 guidance).
FFT_ANSWERS = {1: "Very good", 2: "Good", 3: "Neither good nor poor", 4: "Poor", 5: "Very poor", 6: "Don't know"}
RESULT_ROLES = ("commissioner", "analyst")
FFT_QUESTION = "Overall, how was your experience of our service?"


class SurveyAnswer(BaseModel):
    """One person's answer (or their decline)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: str
    service: str = Field(max_length=48)
    milestone: Literal["discharge_home", "pathway_milestone", "home_from_hospital_end"]
    channel: Literal["sms", "phone", "web"]
    declined: bool = False
    fft_answer: int | None = Field(default=None, ge=1, le=6)
    comment: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _answer_or_decline(self) -> SurveyAnswer:
        if self.declined and (self.fft_answer is not None or self.comment):
            raise ValueError("a declined survey has no answers")
        if not self.declined and self.fft_answer is None:
            raise ValueError("give the Friends and Family Test answer (1-6), or record a decline")
        return self


class ServiceExperience(BaseModel):
    """Results for one service and month."""

    model_config = ConfigDict(frozen=True)

    service: str
    month: str
    asked: int
    declined: int
    answered: int
    # Share of answers (excluding "don't know") that were good or very good, as NHS England reports it.
    positive_percent: float | None
    comments: tuple[str, ...]


def record_survey(
    session: Session, *, actor: Actor, answer: SurveyAnswer, at: datetime | None = None
) -> int:
    """Record a survey answer or decline; returns its id. One per person, service and milestone."""
    if session.get(Person, answer.person_id) is None:
        raise NotFound("no such person")
    authorise(session, actor=actor, person_id=answer.person_id, resource_type="follow_up_note", action="write")
    already = session.scalar(
        select(ExperienceSurvey.experience_survey_id).where(
            ExperienceSurvey.person_id == answer.person_id,
            ExperienceSurvey.service == answer.service,
            ExperienceSurvey.milestone == answer.milestone,
        )
    )
    if already is not None:
        raise StateConflict(f"survey already recorded for this person and milestone ({already})")
    survey = ExperienceSurvey(
        person_id=answer.person_id,
        service=answer.service,
        milestone=answer.milestone,
        channel=answer.channel,
        declined_flag=answer.declined,
        fft_answer=answer.fft_answer,
        comment=answer.comment,
        recorded_by=actor.user_id,
        recorded_at=at or utc_now(),
    )
    session.add(survey)
    session.commit()
    return survey.experience_survey_id


def experience_results(session: Session, *, actor: Actor, service: str | None = None) -> list[ServiceExperience]:
    """Results by service and month: asked, declined, answered, % positive, comments (no names).

    For the services' own teams and for commissioners and analysts; free text may still say who.
    """
    if not actor.team_ids and actor.role not in RESULT_ROLES:
        raise AccessDenied("experience results are for the services' teams and for commissioners")
    query = select(ExperienceSurvey).order_by(ExperienceSurvey.service, ExperienceSurvey.recorded_at)
    if service:
        query = query.where(ExperienceSurvey.service == service)
    groups: dict[tuple[str, str], list[ExperienceSurvey]] = {}
    for survey in session.scalars(query):
        groups.setdefault((survey.service, survey.recorded_at.strftime("%Y-%m")), []).append(survey)
    results = []
    for (name, month), surveys in groups.items():
        answered = [s for s in surveys if not s.declined_flag]
        rated = [s for s in answered if s.fft_answer in (1, 2, 3, 4, 5)]
        positive = [s for s in rated if s.fft_answer in (1, 2)]
        results.append(
            ServiceExperience(
                service=name,
                month=month,
                asked=len(surveys),
                declined=len(surveys) - len(answered),
                answered=len(answered),
                positive_percent=round(100 * len(positive) / len(rated), 1) if rated else None,
                comments=tuple(s.comment for s in answered if s.comment),
            )
        )
    record_audit(
        session, actor=actor, action="read", resource_type="follow_up_note",
        detail=f"experience results: {len(results)} service-months", basis="service_evaluation",
    )
    session.commit()
    return results
