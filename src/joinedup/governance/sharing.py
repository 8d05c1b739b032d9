"""Data-sharing agreements and data requests: nothing leaves without an agreement and the board's yes.

A *data-processing agreement* lets a source's data in; a *data-sharing agreement* lets data out
to a named recipient, for a purpose, with listed fields, over a period, with dates coarsened as it
says. A *data request* from a clinical panel names an agreement, a purpose and legal basis, a cohort
(simple filters), fields and a period; board members comment and decide, each decision is kept, and
the request is approved once enough members approve and none rejects. ``joinedup extract`` then
produces it (``joinedup.governance.extracts``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, Conflict, InvalidInput, NotFound
from joinedup.governance.access import authorise
from joinedup.governance.audit import record_audit
from joinedup.model import Actor
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import DataRequest, DataRequestReview, DataSharingAgreement

logger = logging.getLogger(__name__)

# Approvals needed (with no rejection) before a request is approved.
BOARD_QUORUM = 2
AGREEMENT_KINDS = ("processing", "sharing")
DATE_PRECISIONS = ("day", "month", "year")
REVIEW_KINDS = ("comment", "approve", "reject")

# What an extract can carry, per table. Direct identifiers are not in it and can never be asked for.
EXTRACT_FIELDS = {
    "person.birth_date": "birth date, coarsened as the agreement says",
    "person.sex": "administrative sex",
    "person.ethnicity_code": "ethnic category code",
    "person.lsoa_code": "lower-layer super output area",
    "person.practice_code": "registered practice (ODS code)",
    "person.death_date": "date of death, coarsened",
    "condition.code": "condition code and code system",
    "condition.onset_date": "onset date, coarsened",
    "encounter.setting": "setting (gp, ae, inpatient...)",
    "encounter.start_date": "start date, coarsened",
    "encounter.end_date": "end date, coarsened",
    "encounter.org_code": "provider organisation",
    "encounter.admission_method": "admission method",
    "encounter.primary_diagnosis_code": "primary diagnosis code",
    "observation.code": "observation code, value and unit",
    "observation.effective_date": "observation date, coarsened",
}
DIRECT_IDENTIFIERS = frozenset(
    {"nhs_number", "given_name", "family_name", "name", "address_line", "postcode", "phone", "local_id", "person_id"}
)
COHORT_KEYS = {"min_age", "max_age", "condition_codes", "practice_codes", "sex"}


@dataclass(frozen=True)
class ReviewPublic:
    """A board member's comment or decision."""

    reviewer: str
    kind: str
    text: str
    recorded_at: str


@dataclass(frozen=True)
class DataRequestPublic:
    """A data request as services hand it out, with its reviews."""

    data_request_id: int
    title: str
    requested_by: str
    purpose: str
    legal_basis: str
    agreement_id: str
    cohort: dict[str, Any]
    fields: list[str]
    period_start: date
    period_end: date
    status: str
    decision_reason: str | None
    reviews: list[ReviewPublic]


def _public(session: Session, request: DataRequest) -> DataRequestPublic:
    reviews = session.scalars(
        select(DataRequestReview)
        .where(DataRequestReview.data_request_id == request.data_request_id)
        .order_by(DataRequestReview.data_request_review_id)
    )
    return DataRequestPublic(
        data_request_id=request.data_request_id,
        title=request.title,
        requested_by=request.requested_by,
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        agreement_id=request.agreement_id,
        cohort=dict(request.cohort),
        fields=list(request.fields),
        period_start=request.period_start,
        period_end=request.period_end,
        status=request.status,
        decision_reason=request.decision_reason,
        reviews=[ReviewPublic(r.reviewer, r.kind, r.text, r.recorded_at.isoformat()) for r in reviews],
    )


def create_agreement(
    session: Session,
    *,
    actor: Actor,
    agreement_id: str,
    kind: str,
    title: str,
    purpose: str,
    party: str,
    fields: list[str],
    start_date: date,
    end_date: date,
    date_precision: str = "month",
    linkage_allowed: bool = False,
    legal_basis: str | None = None,
) -> DataSharingAgreement:
    """Record a data-processing (``processing``: party = source id) or data-sharing agreement.

    Raises:
        InvalidInput: unknown kind, precision or field; a direct identifier; an empty period.
        Conflict: the agreement id is taken.
    """
    authorise(session, actor=actor, person_id=None, resource_type="agreement", action="write", detail=agreement_id)
    if kind not in AGREEMENT_KINDS:
        raise InvalidInput(f"agreement kind must be one of {', '.join(AGREEMENT_KINDS)}")
    if date_precision not in DATE_PRECISIONS:
        raise InvalidInput(f"date precision must be one of {', '.join(DATE_PRECISIONS)}")
    if end_date < start_date:
        raise InvalidInput("the agreement ends before it starts")
    if kind == "sharing":
        _check_fields(fields)
    if session.get(DataSharingAgreement, agreement_id) is not None:
        raise Conflict(f"agreement {agreement_id!r} exists")
    agreement = DataSharingAgreement(
        agreement_id=agreement_id,
        kind=kind,
        title=title,
        purpose=purpose,
        party=party,
        legal_basis=legal_basis,
        fields=list(fields),
        start_date=start_date,
        end_date=end_date,
        date_precision=date_precision,
        linkage_allowed_flag=linkage_allowed,
        status="active",
    )
    session.add(agreement)
    session.flush()
    return agreement


def _check_fields(fields: list[str]) -> None:
    identifiers = [f for f in fields if f.rsplit(".", 1)[-1] in DIRECT_IDENTIFIERS]
    if identifiers:
        raise InvalidInput(f"direct identifiers cannot leave: {', '.join(identifiers)}")
    unknown = [f for f in fields if f not in EXTRACT_FIELDS]
    if unknown:
        raise InvalidInput(f"unknown extract field(s): {', '.join(unknown)}; known: {', '.join(EXTRACT_FIELDS)}")


def active_agreement(
    session: Session, *, kind: str, party: str, purpose: str | None = None, on: date | None = None
) -> DataSharingAgreement | None:
    """The active agreement of that kind with that party (and purpose) in force on ``on`` (today)."""
    on = on or utc_now().date()
    query = select(DataSharingAgreement).where(
        DataSharingAgreement.kind == kind,
        DataSharingAgreement.party == party,
        DataSharingAgreement.status == "active",
        DataSharingAgreement.start_date <= on,
        DataSharingAgreement.end_date >= on,
    )
    if purpose is not None:
        query = query.where(DataSharingAgreement.purpose == purpose)
    return session.scalars(query.order_by(DataSharingAgreement.agreement_id).limit(1)).first()


def require_processing_agreement(session: Session, *, source: str, on: date | None = None) -> DataSharingAgreement:
    """The data-processing agreement under which a source's data may be accepted.

    Raises:
        AccessDenied: no active data-processing agreement covers the source.
    """
    agreement = active_agreement(session, kind="processing", party=source, on=on)
    if agreement is None:
        raise AccessDenied(f"no active data-processing agreement for source {source!r}; record one first")
    return agreement


def require_sharing_agreement(session: Session, agreement_id: str, *, on: date | None = None) -> DataSharingAgreement:
    """The named data-sharing agreement, checked to be active and in force.

    Raises:
        NotFound: no such agreement.
        AccessDenied: it is not a sharing agreement, not active, or not in force on that date.
    """
    agreement = session.get(DataSharingAgreement, agreement_id)
    if agreement is None:
        raise NotFound(f"no agreement {agreement_id!r}")
    on = on or utc_now().date()
    if agreement.kind != "sharing":
        raise AccessDenied(f"agreement {agreement_id!r} is a data-processing agreement; data cannot leave under it")
    if agreement.status != "active" or not agreement.start_date <= on <= agreement.end_date:
        raise AccessDenied(
            f"agreement {agreement_id!r} is not in force on {on.isoformat()} "
            f"({agreement.status}, {agreement.start_date} to {agreement.end_date})"
        )
    return agreement


def submit_data_request(
    session: Session,
    *,
    actor: Actor,
    title: str,
    purpose: str,
    legal_basis: str,
    agreement_id: str,
    cohort: dict[str, Any],
    fields: list[str],
    period_start: date,
    period_end: date,
) -> DataRequestPublic:
    """Submit a request for de-identified data under a data-sharing agreement, for the board.

    Raises:
        InvalidInput: fields or purpose outside the agreement, unknown cohort filters, bad period.
        AccessDenied: the agreement is not in force, or the actor may not submit requests.
    """
    authorise(session, actor=actor, person_id=None, resource_type="data_request", action="write", purpose=purpose)
    agreement = require_sharing_agreement(session, agreement_id)
    _check_fields(fields)
    if purpose != agreement.purpose:
        raise InvalidInput(f"agreement {agreement_id!r} covers {agreement.purpose!r}, not {purpose!r}")
    outside = [f for f in fields if f not in agreement.fields]
    if outside:
        raise InvalidInput(f"agreement {agreement_id!r} does not cover field(s): {', '.join(outside)}")
    unknown = set(cohort) - COHORT_KEYS
    if unknown:
        raise InvalidInput(
            f"unknown cohort filter(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(COHORT_KEYS))}"
        )
    if period_end < period_start:
        raise InvalidInput("the period ends before it starts")
    if not legal_basis.strip():
        raise InvalidInput("give the legal basis for the request")
    request = DataRequest(
        title=title,
        requested_by=actor.username,
        requester_org_code=actor.org_code,
        purpose=purpose,
        legal_basis=legal_basis,
        agreement_id=agreement_id,
        cohort=dict(cohort),
        fields=list(fields),
        period_start=period_start,
        period_end=period_end,
        status="submitted",
    )
    session.add(request)
    session.flush()
    logger.info("data request %d submitted", request.data_request_id)
    return _public(session, request)


def _request(session: Session, data_request_id: int) -> DataRequest:
    request = session.get(DataRequest, data_request_id)
    if request is None:
        raise NotFound(f"no data request #{data_request_id}")
    return request


def get_data_request(session: Session, *, actor: Actor, data_request_id: int) -> DataRequestPublic:
    """One request with its reviews."""
    authorise(
        session, actor=actor, person_id=None, resource_type="data_request", detail=f"data_request #{data_request_id}"
    )
    return _public(session, _request(session, data_request_id))


def list_data_requests(session: Session, *, actor: Actor, status: str | None = None) -> list[DataRequestPublic]:
    """Requests, newest first (optionally of one status)."""
    authorise(session, actor=actor, person_id=None, resource_type="data_request", action="read")
    query = select(DataRequest).order_by(DataRequest.data_request_id.desc())
    if status is not None:
        query = query.where(DataRequest.status == status)
    return [_public(session, r) for r in session.scalars(query)]


def review_data_request(
    session: Session, *, actor: Actor, data_request_id: int, kind: str, text: str = ""
) -> DataRequestPublic:
    """A board member comments on, approves or rejects a request; every decision is kept.

    The request is approved when ``BOARD_QUORUM`` members have approved and none has rejected;
    rejected as soon as a member rejects (with a reason).

    Raises:
        InvalidInput: unknown kind, or a rejection without a reason.
        AccessDenied: not a board member, or deciding on one's own request.
        Conflict: the request is already decided, or this member already decided.
    """
    if kind not in REVIEW_KINDS:
        raise InvalidInput(f"review kind must be one of {', '.join(REVIEW_KINDS)}")
    action = "review" if kind == "comment" else "decide"
    authorise(
        session,
        actor=actor,
        person_id=None,
        resource_type="data_request",
        action=action,
        detail=f"data_request #{data_request_id}: {kind}",
    )
    request = _request(session, data_request_id)
    if request.status != "submitted":
        raise Conflict(f"data request #{data_request_id} is already {request.status}")
    if kind != "comment":
        _check_decision(session, actor, request, kind, text)
    session.add(DataRequestReview(data_request_id=data_request_id, reviewer=actor.username, kind=kind, text=text))
    session.flush()
    _settle(session, request)
    return _public(session, request)


def _check_decision(session: Session, actor: Actor, request: DataRequest, kind: str, text: str) -> None:
    if request.requested_by == actor.username:
        raise AccessDenied("you cannot decide on your own data request")
    if kind == "reject" and not text.strip():
        raise InvalidInput("give the reason for rejecting the request")
    decided = session.scalar(
        select(DataRequestReview.data_request_review_id).where(
            DataRequestReview.data_request_id == request.data_request_id,
            DataRequestReview.reviewer == actor.username,
            DataRequestReview.kind.in_(("approve", "reject")),
        )
    )
    if decided is not None:
        raise Conflict(f"you have already decided on data request #{request.data_request_id}")


def _settle(session: Session, request: DataRequest) -> None:
    decisions = session.execute(
        select(DataRequestReview.kind, DataRequestReview.text).where(
            DataRequestReview.data_request_id == request.data_request_id,
            DataRequestReview.kind.in_(("approve", "reject")),
        )
    ).all()
    rejections = [text for kind, text in decisions if kind == "reject"]
    approvals = sum(kind == "approve" for kind, _ in decisions)
    if rejections:
        request.status, request.decision_reason = "rejected", rejections[0]
    elif approvals >= BOARD_QUORUM:
        request.status, request.decision_reason = "approved", f"approved by {approvals} board members"
    else:
        return
    request.decided_at = utc_now()
    session.flush()
    logger.info("data request %d %s", request.data_request_id, request.status)


def withdraw_data_request(session: Session, *, actor: Actor, data_request_id: int) -> None:
    """The requester withdraws a request not yet decided (kept as rejected, with why)."""
    request = _request(session, data_request_id)
    if request.requested_by != actor.username:
        raise AccessDenied("only the requester can withdraw a data request")
    if request.status != "submitted":
        raise Conflict(f"data request #{data_request_id} is already {request.status}")
    request.status, request.decision_reason, request.decided_at = "rejected", "withdrawn by the requester", utc_now()
    record_audit(
        session, actor=actor, action="write", resource_type="data_request", detail=f"withdrew #{data_request_id}"
    )


@dataclass(frozen=True)
class AgreementPublic:
    """An agreement as pages and the API show it."""

    agreement_id: str
    kind: str
    title: str
    purpose: str
    party: str
    fields: list[str]
    start_date: date
    end_date: date
    date_precision: str
    linkage_allowed: bool
    status: str


def list_agreements(session: Session, *, actor: Actor, kind: str | None = None) -> list[AgreementPublic]:
    """Agreements, by id (optionally of one kind)."""
    authorise(session, actor=actor, person_id=None, resource_type="agreement", action="read", purpose="planning")
    query = select(DataSharingAgreement).order_by(DataSharingAgreement.agreement_id)
    if kind is not None:
        query = query.where(DataSharingAgreement.kind == kind)
    return [
        AgreementPublic(
            agreement_id=a.agreement_id,
            kind=a.kind,
            title=a.title,
            purpose=a.purpose,
            party=a.party,
            fields=list(a.fields),
            start_date=a.start_date,
            end_date=a.end_date,
            date_precision=a.date_precision,
            linkage_allowed=a.linkage_allowed_flag,
            status=a.status,
        )
        for a in session.scalars(query)
    ]
