"""Governance: who may see what, consent and opt-outs, the audit trail, data sharing, disclosure control.

Owns users, teams and legitimate relationships; access decisions from a policy file
(``policies/access.yml``); break-glass; the national data opt-out and local objections
(``policies/consent.yml``) through the one function ``secondary_use_person_ids``; the append-only,
hash-chained audit trail; data-sharing agreements, data requests and de-identified extracts;
statistical disclosure control (``governance.disclosure``). May import ``joinedup.store`` and
``joinedup.model`` only.
"""

from joinedup.governance.access import (
    AccessAnswers,
    AccessDecision,
    BreakGlassGrant,
    authorise,
    authorise_many,
    break_glass,
    list_break_glass,
    list_ig_alerts,
    may,
    review_break_glass,
)
from joinedup.governance.audit import (
    AuditItem,
    AuditVerification,
    checkpoint_audit_chain,
    record_audit,
    record_audit_many,
    verify_audit_chain,
)
from joinedup.governance.optouts import (
    load_cleaned_list,
    load_cleaned_lists,
    record_local_objection,
    secondary_use_person_ids,
    withdraw_local_objection,
)
from joinedup.governance.policy import load_access_policy, load_consent_policy
from joinedup.governance.relationships import end_relationship, grant_relationship, relationships_held
from joinedup.governance.users import (
    SecondFactorEnrolmentRequired,
    UserPublic,
    add_team_member,
    authenticate,
    confirm_totp_enrolment,
    create_user,
    ensure_team,
    load_actor,
    record_throttled,
)

__all__ = [
    "AccessAnswers",
    "AccessDecision",
    "AuditItem",
    "AuditVerification",
    "BreakGlassGrant",
    "SecondFactorEnrolmentRequired",
    "UserPublic",
    "add_team_member",
    "authenticate",
    "authorise",
    "authorise_many",
    "break_glass",
    "checkpoint_audit_chain",
    "confirm_totp_enrolment",
    "create_user",
    "end_relationship",
    "ensure_team",
    "grant_relationship",
    "list_break_glass",
    "list_ig_alerts",
    "load_access_policy",
    "load_actor",
    "load_cleaned_list",
    "load_cleaned_lists",
    "load_consent_policy",
    "may",
    "record_audit",
    "record_audit_many",
    "record_local_objection",
    "record_throttled",
    "relationships_held",
    "review_break_glass",
    "secondary_use_person_ids",
    "verify_audit_chain",
    "withdraw_local_objection",
]
