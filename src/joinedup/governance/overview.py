"""The governance desk: what the IG officer, the data-sharing board and the administrators act on."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from joinedup.governance.access import AlertPublic, BreakGlassPublic, list_break_glass, list_ig_alerts, may
from joinedup.governance.sharing import DataRequestPublic, list_data_requests
from joinedup.governance.users import UserPublic, list_users
from joinedup.model import Actor


@dataclass(frozen=True)
class GovernanceOverview:
    """The sections of the governance desk the actor's role is offered (empty when not)."""

    alerts: list[AlertPublic] = field(default_factory=list)
    pending_break_glass: list[BreakGlassPublic] = field(default_factory=list)
    requests: list[DataRequestPublic] = field(default_factory=list)
    users: list[UserPublic] = field(default_factory=list)
    can_review_break_glass: bool = False
    can_search_audit: bool = False
    can_see_requests: bool = False
    can_decide_requests: bool = False
    can_manage_users: bool = False


def governance_overview(session: Session, *, actor: Actor) -> GovernanceOverview:
    """Open alerts, break-glass awaiting review, data requests, users: each as the role allows.

    Sections the role is not offered are left empty without asking (nothing read, nothing audited);
    every section read is decided and audited by its own service.
    """
    can_review = may(actor, "break_glass", "review")
    can_requests = may(actor, "data_request", "read")
    can_users = may(actor, "user", "write")
    return GovernanceOverview(
        alerts=list_ig_alerts(session, actor=actor) if may(actor, "ig_alert") else [],
        pending_break_glass=list_break_glass(session, actor=actor, pending_only=True) if can_review else [],
        requests=list_data_requests(session, actor=actor) if can_requests else [],
        users=list_users(session, actor=actor) if can_users else [],
        can_review_break_glass=can_review,
        can_search_audit=may(actor, "audit", "search"),
        can_see_requests=can_requests,
        can_decide_requests=may(actor, "data_request", "decide"),
        can_manage_users=can_users,
    )
