"""Access decisions: the one place that says whether an actor may read or write a person's record.

``authorise`` finds the relationships the actor holds with the person, looks for a rule of the
access policy (``policies/access.yml``) that grants the role, relationship, resource type, action
and purpose, and writes the audit entry, allowed or not. Nothing here branches on a role: the
policy file does that.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, InvalidInput, NotFound
from joinedup.governance.audit import AuditItem, record_audit, record_audit_many
from joinedup.governance.policy import ACCESS_POLICY_PATH, RELATIONSHIPS, AccessPolicy, AccessRule, load_access_policy
from joinedup.governance.relationships import (
    active_break_glass,
    person_is_sensitive,
    relationships_held,
    resolve_person,
)
from joinedup.model import Actor
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import BreakGlassSession, IgAlert

logger = logging.getLogger(__name__)

NO_RELATIONSHIP = (
    "you have no care relationship with this person that allows this; "
    "if this is an emergency, use break-glass and give your reason"
)
NO_RELATIONSHIP_NO_BREAK_GLASS = (
    "you have no care relationship with this person that allows this; "
    "ask the person's care team or the coordination centre to refer them to your service"
)


@dataclass(frozen=True)
class AccessDecision:
    """What an allowed request may see.

    Attributes:
        basis: why it is allowed (the relationship, or ``break_glass: <reason>``), as audited.
        visible_fields: the fields of the resource the caller may see; None means all of them.
        sealed_allowed: whether sealed items (sexual health, gender identity, safeguarding) may be shown.
        relationships: every relationship the actor holds with the person.
        policy_version: the access policy version that decided.
        break_glass: True when only break-glass allowed it (show the banner).
        person_id: the person it was decided for, after following merges (None: no person).
    """

    basis: str
    visible_fields: frozenset[str] | None
    sealed_allowed: bool
    relationships: frozenset[str]
    policy_version: str
    break_glass: bool = False
    person_id: str | None = None

    def can_see(self, field_name: str) -> bool:
        """Whether the named field may be shown."""
        return self.visible_fields is None or field_name in self.visible_fields


def _matching_rules(
    policy: AccessPolicy, *, role: str, held: set[str], resource_type: str, action: str, purpose: str
) -> list[tuple[AccessRule, str]]:
    """Rules that grant this request, each with the relationship it was granted through."""
    matches: list[tuple[AccessRule, str]] = []
    for rule in policy.rules:
        if role not in rule.roles:
            continue
        if action not in rule.actions and "*" not in rule.actions:
            continue
        if purpose not in rule.purposes and "*" not in rule.purposes:
            continue
        if resource_type not in policy.expand_resources(rule.resources):
            continue
        through = [r for r in RELATIONSHIPS if r in rule.relationships and r in held]
        if through:
            # Prefer a real relationship over break-glass when both are held.
            non_emergency = [r for r in through if r != "break_glass"]
            matches.append((rule, (non_emergency or through)[0]))
    return matches


def authorise(
    session: Session,
    *,
    actor: Actor,
    person_id: str | None,
    resource_type: str,
    action: str = "read",
    purpose: str = "direct_care",
    detail: str = "",
    policy_path: Path = ACCESS_POLICY_PATH,
) -> AccessDecision:
    """Decide whether ``actor`` may ``action`` the ``resource_type`` of ``person_id``, and audit it.

    Every decision writes an audit entry in the caller's session. A refusal commits that entry
    before raising, so a caller that rolls back on the error cannot erase it (call ``authorise``
    before making changes). The single-resource case of ``authorise_many``.

    Args:
        person_id: the linked person, or None for resources not about one person (audit, users...).
        resource_type: one of the policy's resource types (patient, condition, care_plan...).
        action: read | write | search | export | review | decide | reidentify.
        purpose: direct_care (default), or a secondary purpose (planning, research...).
        detail: what is being looked at (ids, counts; never identifiers), for the audit.

    Returns:
        The decision: basis, visible fields, whether sealed items may be shown.

    Raises:
        AccessDenied: no rule allows it; the reason says what the user can do about it.
        NotFound: no such person, or a sensitive person the caller has no right to know exists.
        InvalidInput: an unknown resource type or action (a programming error).
    """
    decision = authorise_many(
        session,
        actor=actor,
        person_id=person_id,
        resource_types=[resource_type],
        action=action,
        purpose=purpose,
        detail=detail,
        gate=resource_type,
        policy_path=policy_path,
    )[resource_type]
    assert isinstance(decision, AccessDecision)  # the gate raised any refusal
    return decision


def authorise_many(
    session: Session,
    *,
    actor: Actor,
    person_id: str | None,
    resource_types: Sequence[str],
    action: str = "read",
    purpose: str = "direct_care",
    detail: str = "",
    gate: str | None = None,
    defer_audit: bool = False,
    policy_path: Path = ACCESS_POLICY_PATH,
) -> AccessAnswers:
    """Decide several resource types of one person in one go, and audit each decision.

    The actor's relationships with the person are found once (a few set-based queries); the
    policy is then applied to each resource type in memory, and the audit entries (one per
    resource type, in the order asked, each with its own outcome and basis) are written together.
    If any type is refused, the entries are committed before returning, as ``authorise`` does.

    Args:
        resource_types: the policy's resource types to decide (duplicates are decided once).
        gate: a resource type (among ``resource_types``) whose refusal refuses the whole request:
            then only its refusal is audited and ``AccessDenied`` is raised (a record whose
            ``patient`` part is refused shows nothing, so nothing else was looked at).
        defer_audit: keep the entries of this decision until the caller has read what was
            allowed and calls ``answers.write_audit()`` (still in its transaction): the audit
            chain's lock (PostgreSQL's advisory lock, SQLite's write lock) is then held only from
            that write to the commit, not while the record is read. Refusals at the gate and
            ``NotFound`` are still written (and committed) at once.

    Returns:
        For each resource type, its ``AccessDecision`` or the ``AccessDenied`` that refuses it
        (not raised, so a page can withhold one section and show the rest).

    Raises:
        AccessDenied: the ``gate`` type is refused.
        NotFound: no such person, or a sensitive person the caller has no right to know exists
            (audited as ``not_found`` for the gate, or for every type asked when there is none).
        InvalidInput: an unknown resource type or action (a programming error).
    """
    policy = load_access_policy(policy_path)
    wanted = list(dict.fromkeys(resource_types))
    for resource_type in wanted:
        if resource_type not in policy.resource_types:
            raise InvalidInput(f"unknown resource type {resource_type!r} for an access decision")
    if action not in policy.actions:
        raise InvalidInput(f"unknown action {action!r} for an access decision")
    if gate is not None and gate not in wanted:
        raise InvalidInput(f"the gate {gate!r} must be one of the resource types decided")
    request = _Request(session, policy, actor, person_id, action, purpose, detail, gate, wanted)
    if person_id is not None:
        try:
            request.person_id = resolve_person(session, person_id).person_id
        except NotFound:
            request.not_found("no such person")
    return request.decide(defer_audit=defer_audit)


class AccessAnswers(dict[str, "AccessDecision | AccessDenied"]):
    """Each resource type's decision (``AccessDecision``) or refusal (``AccessDenied``).

    With ``defer_audit`` the audit entries wait for ``write_audit()``; otherwise they are written.
    """

    def __init__(self, answers: dict[str, AccessDecision | AccessDenied], pending: _Request | None) -> None:
        super().__init__(answers)
        self._pending = pending

    def write_audit(self) -> None:
        """Write the entries a deferred decision kept (once; nothing to do if already written)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.write_pending()


class _Request:
    """One batched access request: relationships looked up once, decided per resource type."""

    def __init__(
        self,
        session: Session,
        policy: AccessPolicy,
        actor: Actor,
        person_id: str | None,
        action: str,
        purpose: str,
        detail: str,
        gate: str | None,
        wanted: list[str],
    ) -> None:
        self.session = session
        self.policy = policy
        self.actor = actor
        self.person_id = person_id
        self.action = action
        self.purpose = purpose
        self.detail = detail
        self.gate = gate
        self.wanted = wanted
        self._held: set[str] | None = None
        self._pending: list[tuple[str, str, str]] = []

    @property
    def held(self) -> set[str]:
        """The actor's relationships with the person (looked up on first use, once)."""
        if self._held is None:
            self._held = relationships_held(
                self.session, actor=self.actor, person_id=self.person_id, policy=self.policy
            )
        return self._held

    def _rules(self, resource_type: str, held: set[str]) -> list[tuple[AccessRule, str]]:
        return _matching_rules(
            self.policy,
            role=self.actor.role,
            held=held,
            resource_type=resource_type,
            action=self.action,
            purpose=self.purpose,
        )

    def decide(self, *, defer_audit: bool = False) -> AccessAnswers:
        """Every type's decision, audited (or kept for later); raises for the gate or an unknowable person."""
        # Types no rule could grant whatever the relationship: the role itself may not.
        role_may = {t: bool(self._rules(t, set(RELATIONSHIPS))) for t in self.wanted}
        order = [self.gate] if self.gate is not None else []
        order += [t for t in self.wanted if t != self.gate]
        matches: dict[str, list[tuple[AccessRule, str]]] = {}
        for resource_type in order:
            matches[resource_type] = self._rules(resource_type, self.held) if role_may[resource_type] else []
            if resource_type == self.gate and not matches[resource_type]:
                # Refused at the gate: nothing else is decided (or audited).
                self._check_knowable()
                refusal = self._refusal(resource_type, role_may[resource_type])
                self._write([(resource_type, "denied", refusal.reason)])
                raise refusal
        if any(not found for found in matches.values()):
            self._check_knowable()
        answers: dict[str, AccessDecision | AccessDenied] = {}
        audit: list[tuple[str, str, str]] = []
        for resource_type in self.wanted:
            if matches[resource_type]:
                decision = self._decision(matches[resource_type])
                answers[resource_type] = decision
                audit.append((resource_type, "allowed", decision.basis))
            else:
                refusal = self._refusal(resource_type, role_may[resource_type])
                answers[resource_type] = refusal
                audit.append((resource_type, "denied", refusal.reason))
        if defer_audit:
            self._pending = audit
            return AccessAnswers(answers, self)
        self._write(audit)
        return AccessAnswers(answers, None)

    def write_pending(self) -> None:
        """Write the audit entries a deferred decision kept."""
        self._write(self._pending)
        self._pending = []

    def not_found(self, basis: str) -> NoReturn:
        """Refuse as if the person did not exist, audited (for the gate, or for every type)."""
        types = [self.gate] if self.gate is not None else self.wanted
        self._write([(resource_type, "not_found", basis) for resource_type in types])
        raise NotFound("no such person")

    def _check_knowable(self) -> None:
        """A refusal about a sensitive person the actor may not know of is ``NotFound`` instead."""
        if self.person_id is None or not person_is_sensitive(self.session, self.person_id):
            return
        if not self.held & set(self.policy.sensitive_known_to):
            self.not_found("sensitive person")

    def _refusal(self, resource_type: str, role_may: bool) -> AccessDenied:
        """Why this type is refused, in words the user can act on."""
        reason = f"your role may not {self.action} {resource_type.replace('_', ' ')} records"
        if self.person_id is not None and self.purpose != "direct_care":
            reason = f"identifiable records may not be used for {self.purpose}; request de-identified data instead"
        elif self.person_id is not None and role_may and self.held <= {"none", "system"}:
            may_break_glass = self.actor.role in self.policy.break_glass.roles
            reason = NO_RELATIONSHIP if may_break_glass else NO_RELATIONSHIP_NO_BREAK_GLASS
        return AccessDenied(reason)

    def _decision(self, matches: list[tuple[AccessRule, str]]) -> AccessDecision:
        through = {relationship for _, relationship in matches}
        only_break_glass = through == {"break_glass"}
        basis = ", ".join(r for r in RELATIONSHIPS if r in through)
        if only_break_glass and self.person_id is not None:
            basis = self._break_glass_basis
        visible: frozenset[str] | None = frozenset()
        for rule, _ in matches:
            fields = self.policy.expand_fields(rule.fields)
            visible = None if fields is None or visible is None else visible | fields
        return AccessDecision(
            basis=basis,
            visible_fields=visible,
            sealed_allowed=any(rule.sealed for rule, _ in matches),
            relationships=frozenset(self.held),
            policy_version=self.policy.version,
            break_glass=only_break_glass,
            person_id=self.person_id,
        )

    @functools.cached_property
    def _break_glass_basis(self) -> str:
        """The basis of an emergency access: the break-glass's number and reason (looked up once)."""
        assert self.person_id is not None
        glass = active_break_glass(self.session, actor=self.actor, person_id=self.person_id)
        return f"break_glass #{glass.break_glass_id}: {glass.reason}" if glass else "break_glass"

    def _write(self, outcomes: list[tuple[str, str, str]]) -> None:
        """The audit entries, one per type; committed at once when any is a refusal."""
        record_audit_many(
            self.session,
            actor=self.actor,
            items=[
                AuditItem(
                    action=self.action,
                    resource_type=resource_type,
                    person_id=self.person_id,
                    detail=self.detail,
                    basis=basis,
                    outcome=outcome,
                    purpose=self.purpose,
                )
                for resource_type, outcome, basis in outcomes
            ],
        )
        if any(outcome != "allowed" for _, outcome, _ in outcomes):
            self.session.commit()


@dataclass(frozen=True)
class BreakGlassGrant:
    """An emergency access granted: until when, under which id (for the banner and the review)."""

    break_glass_id: int
    person_id: str
    expires_at: datetime
    reason: str


def break_glass(
    session: Session,
    *,
    actor: Actor,
    person_id: str,
    reason: str,
    minutes: int | None = None,
    policy_path: Path = ACCESS_POLICY_PATH,
) -> BreakGlassGrant:
    """Open a record in an emergency without a relationship: reason required, time-limited, reported.

    Writes the break-glass session, an audit entry with the reason, and an alert for the
    information-governance officer that carries no patient identifiers (only the review id).
    Access then goes through ``authorise`` as usual, which finds the ``break_glass`` relationship.

    Raises:
        InvalidInput: the reason is missing or too short.
        AccessDenied: the role may not break the glass.
        NotFound: no such person.
    """
    policy = load_access_policy(policy_path)
    reason = reason.strip()
    if len(reason) < policy.break_glass.min_reason_length:
        raise InvalidInput(
            f"give the reason for emergency access (at least {policy.break_glass.min_reason_length} characters)"
        )
    person_id = resolve_person(session, person_id).person_id
    if actor.role not in policy.break_glass.roles:
        record_audit(
            session,
            actor=actor,
            action="write",
            resource_type="break_glass",
            person_id=person_id,
            basis="role may not break glass",
            outcome="denied",
            purpose="direct_care",
        )
        session.commit()
        raise AccessDenied("your role may not use break-glass; contact the person's care team")
    length = min(minutes or policy.break_glass.minutes, policy.break_glass.minutes)
    now = utc_now()
    glass = BreakGlassSession(
        user_id=actor.user_id,
        username=actor.username,
        role=actor.role,
        org_code=actor.org_code,
        person_id=person_id,
        reason=reason,
        started_at=now,
        expires_at=now + timedelta(minutes=length),
        review_outcome="pending",
    )
    session.add(glass)
    session.flush()
    session.add(
        IgAlert(
            kind="break_glass",
            user_id=actor.user_id,
            summary=(
                f"break-glass by {actor.username} ({actor.role}, {actor.org_code or 'no organisation'}) "
                f"for {length} minutes; review #{glass.break_glass_id}"
            ),
            break_glass_id=glass.break_glass_id,
            status="open",
        )
    )
    record_audit(
        session,
        actor=actor,
        action="break_glass",
        resource_type="break_glass",
        person_id=person_id,
        detail=f"break_glass #{glass.break_glass_id} for {length} minutes",
        basis=f"break_glass #{glass.break_glass_id}: {reason}",
        purpose="direct_care",
    )
    logger.info("break-glass %d opened by user %s", glass.break_glass_id, actor.user_id)
    return BreakGlassGrant(
        break_glass_id=glass.break_glass_id, person_id=person_id, expires_at=glass.expires_at, reason=reason
    )


REVIEW_OUTCOMES = ("appropriate", "inappropriate")


@dataclass(frozen=True)
class BreakGlassPublic:
    """A break-glass as the IG officer reviews it."""

    break_glass_id: int
    username: str
    role: str
    org_code: str | None
    person_id: str
    reason: str
    started_at: datetime
    expires_at: datetime
    review_outcome: str
    reviewed_by: str | None
    review_note: str | None


@dataclass(frozen=True)
class AlertPublic:
    """An alert for the IG officer (no patient identifiers in it)."""

    ig_alert_id: int
    kind: str
    raised_at: datetime
    summary: str
    status: str
    break_glass_id: int | None


def _glass_public(glass: BreakGlassSession) -> BreakGlassPublic:
    return BreakGlassPublic(
        break_glass_id=glass.break_glass_id,
        username=glass.username,
        role=glass.role,
        org_code=glass.org_code,
        person_id=glass.person_id,
        reason=glass.reason,
        started_at=glass.started_at,
        expires_at=glass.expires_at,
        review_outcome=glass.review_outcome,
        reviewed_by=glass.reviewed_by,
        review_note=glass.review_note,
    )


def review_break_glass(
    session: Session, *, actor: Actor, break_glass_id: int, outcome: str, note: str = ""
) -> BreakGlassPublic:
    """The IG officer's review of a break-glass: appropriate or not, with a note; closes the alert.

    Raises:
        InvalidInput: unknown outcome.
        NotFound: no such break-glass.
        AccessDenied: the actor may not review break-glass.
    """
    if outcome not in REVIEW_OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(REVIEW_OUTCOMES)}")
    authorise(
        session,
        actor=actor,
        person_id=None,
        resource_type="break_glass",
        action="review",
        detail=f"break_glass #{break_glass_id}: {outcome}",
    )
    glass = session.get(BreakGlassSession, break_glass_id)
    if glass is None:
        raise NotFound(f"no break-glass #{break_glass_id}")
    now = utc_now()
    glass.review_outcome = outcome
    glass.reviewed_by = actor.username
    glass.reviewed_at = now
    glass.review_note = note or None
    for alert in session.scalars(select(IgAlert).where(IgAlert.break_glass_id == break_glass_id)):
        alert.status = "closed"
        alert.closed_by = actor.username
        alert.closed_at = now
    session.flush()
    return _glass_public(glass)


def list_break_glass(session: Session, *, actor: Actor, pending_only: bool = False) -> list[BreakGlassPublic]:
    """Break-glass sessions for review, newest first (IG officer)."""
    authorise(session, actor=actor, person_id=None, resource_type="break_glass", action="read")
    query = select(BreakGlassSession).order_by(BreakGlassSession.break_glass_id.desc())
    if pending_only:
        query = query.where(BreakGlassSession.review_outcome == "pending")
    return [_glass_public(glass) for glass in session.scalars(query)]


def list_ig_alerts(session: Session, *, actor: Actor, open_only: bool = True) -> list[AlertPublic]:
    """Alerts for the information-governance officer, newest first (no patient identifiers in them)."""
    authorise(session, actor=actor, person_id=None, resource_type="ig_alert", action="read")
    query = select(IgAlert).order_by(IgAlert.ig_alert_id.desc())
    if open_only:
        query = query.where(IgAlert.status == "open")
    return [
        AlertPublic(a.ig_alert_id, a.kind, a.raised_at, a.summary, a.status, a.break_glass_id)
        for a in session.scalars(query)
    ]


def may(
    actor: Actor,
    resource_type: str,
    action: str = "read",
    purpose: str = "direct_care",
    *,
    policy_path: Path = ACCESS_POLICY_PATH,
) -> bool:
    """Whether the policy lets the actor's role do this to a resource not about one person.

    For deciding what to offer (menus, sections); reads nothing, so audits nothing. Reads of
    data still go through ``authorise``.
    """
    policy = load_access_policy(policy_path)
    held = {"none", "system"} if actor.role == "system" else {"none"}
    return bool(
        _matching_rules(policy, role=actor.role, held=held, resource_type=resource_type, action=action, purpose=purpose)
    )
