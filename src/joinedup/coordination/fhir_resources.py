"""The centre's work as FHIR R4 resources: ServiceRequest (referral), Task, CarePlan, Flag and
EpisodeOfCare (a person on a pathway). Each read passes governance for the person it is about.

Shapes follow FHIR R4 (validated in the tests with ``fhir.resources.R4B``); the subject is
``Patient/<person_id>``, as in the record's FHIR API.
"""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy.orm import Session

from joinedup.coordination import care_plans
from joinedup.errors import NotFound
from joinedup.governance import authorise, record_audit
from joinedup.model import Actor
from joinedup.store.tables.coordination import BoardFlag, CarePlan, PathwayInstance, Referral, Task

FHIR_TYPES = ("ServiceRequest", "Task", "CarePlan", "Flag", "EpisodeOfCare")
_REFERRAL_STATUS = {"received": "active", "accepted": "completed", "redirected": "revoked", "declined": "revoked"}
_AUDIT_TYPES = {"ServiceRequest": "referral", "Task": "task", "CarePlan": "care_plan"}
_EPISODE_STATUS = {"active": "active", "paused": "onhold", "completed": "finished", "stopped": "cancelled"}
_FLAG_TEXT = {
    "admitted": "Admitted to hospital",
    "overdue_step": "Pathway step overdue",
    "new_high_risk": "Newly at high risk",
    "alert": "Telehealth alert",
}


def read_fhir(session: Session, *, actor: Actor, resource_type: str, resource_id: str) -> dict[str, Any]:
    """One of the centre's resources as FHIR R4 JSON.

    Raises:
        NotFound: no such resource (or a type the centre does not serve).
        AccessDenied: the actor may not read it.
    """
    if resource_type not in FHIR_TYPES or not resource_id.isdigit():
        _not_found(session, actor, resource_type, resource_id)
    key = int(resource_id)
    if resource_type == "ServiceRequest":
        referral = session.get(Referral, key)
        if referral is None:
            _not_found(session, actor, resource_type, resource_id)
        authorise(session, actor=actor, person_id=referral.person_id, resource_type="referral")
        return service_request(referral)
    if resource_type == "Task":
        task = session.get(Task, key)
        if task is None:
            _not_found(session, actor, resource_type, resource_id)
        authorise(session, actor=actor, person_id=task.person_id, resource_type="task")
        return fhir_task(task)
    if resource_type == "CarePlan":
        plan = session.get(CarePlan, key)
        if plan is None:
            _not_found(session, actor, resource_type, resource_id)
        authorise(session, actor=actor, person_id=plan.person_id, resource_type="care_plan")
        return care_plans.care_plan_to_fhir(care_plans.public_care_plan(plan))
    if resource_type == "Flag":
        flag = session.get(BoardFlag, key)
        if flag is None:
            _not_found(session, actor, resource_type, resource_id)
        authorise(session, actor=actor, person_id=flag.person_id, resource_type="care_plan")
        return fhir_flag(flag)
    instance = session.get(PathwayInstance, key)
    if instance is None:
        _not_found(session, actor, resource_type, resource_id)
    authorise(session, actor=actor, person_id=instance.person_id, resource_type="care_plan")
    return episode_of_care(instance)


def _not_found(session: Session, actor: Actor, resource_type: str, resource_id: str) -> NoReturn:
    """Audit a read of something that is not there (probing ids is worth seeing), then refuse."""
    record_audit(
        session, actor=actor, action="read", resource_type=_AUDIT_TYPES.get(resource_type, "care_plan"),
        detail=f"FHIR {resource_type} read: no such id", outcome="not_found",
    )
    raise NotFound(f"no {resource_type} with that id")


def service_request(referral: Referral) -> dict[str, Any]:
    """A referral as a FHIR ServiceRequest."""
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(referral.referral_id),
        "status": _REFERRAL_STATUS.get(referral.status, "unknown"),
        "intent": "order",
        "priority": referral.urgency,
        "subject": {"reference": f"Patient/{referral.person_id}"},
        "authoredOn": referral.received_at.isoformat(),
        "reasonCode": [{"text": referral.reason}],
    }
    if referral.external_id:
        resource["identifier"] = [{"system": "urn:joinedup:referral-source-id", "value": referral.external_id}]
    if referral.suggested_pathway_id:
        resource["category"] = [{"coding": [{"system": "urn:joinedup:pathway", "code": referral.suggested_pathway_id}]}]
    if referral.notes:
        resource["note"] = [{"text": referral.notes}]
    if referral.referrer_org_code:
        ods = {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": referral.referrer_org_code}
        resource["requester"] = {"identifier": ods}
    return resource


def fhir_task(task: Task) -> dict[str, Any]:
    """A task as a FHIR Task."""
    status = {"requested": "requested", "in-progress": "in-progress", "completed": "completed"}.get(
        task.status, "cancelled"
    )
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(task.task_id),
        "status": status,
        "intent": "order",
        "priority": task.priority,
        "code": {"coding": [{"system": "urn:joinedup:task-kind", "code": task.kind}], "text": task.title},
        "description": task.title,
        "for": {"reference": f"Patient/{task.person_id}"},
        "authoredOn": task.created_at.isoformat(),
        "restriction": {"period": {"end": task.due_at.isoformat()}},
        "owner": {"display": task.owner_user_id or f"queue {task.queue_team_id}"},
    }
    if task.outcome:
        resource["note"] = [{"text": task.outcome}]
    if task.pathway_instance_id is not None:
        resource["basedOn"] = [{"reference": f"EpisodeOfCare/{task.pathway_instance_id}"}]
    return resource


def fhir_flag(flag: BoardFlag) -> dict[str, Any]:
    """A board flag as a FHIR Flag."""
    period: dict[str, str] = {"start": flag.raised_at.isoformat()}
    if flag.cleared_at is not None:
        period["end"] = flag.cleared_at.isoformat()
    return {
        "resourceType": "Flag",
        "id": str(flag.board_flag_id),
        "status": "inactive" if flag.cleared_at else "active",
        "code": {
            "coding": [{"system": "urn:joinedup:board-flag", "code": flag.kind}],
            "text": _FLAG_TEXT.get(flag.kind, flag.kind) + (f": {flag.detail}" if flag.detail else ""),
        },
        "subject": {"reference": f"Patient/{flag.person_id}"},
        "period": period,
    }


def episode_of_care(instance: PathwayInstance) -> dict[str, Any]:
    """A person on a pathway as a FHIR EpisodeOfCare."""
    period: dict[str, str] = {"start": instance.started_at.isoformat()}
    if instance.ended_at is not None:
        period["end"] = instance.ended_at.isoformat()
    return {
        "resourceType": "EpisodeOfCare",
        "id": str(instance.pathway_instance_id),
        "status": _EPISODE_STATUS.get(instance.status, "active"),
        "type": [{
            "coding": [{"system": "urn:joinedup:pathway", "code": instance.pathway_id,
                        "version": str(instance.pathway_version)}],
        }],
        "patient": {"reference": f"Patient/{instance.person_id}"},
        "period": period,
    }
