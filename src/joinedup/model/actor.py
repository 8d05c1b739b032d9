"""Who is acting: the user (or system job) on whose behalf a service reads or writes."""

from __future__ import annotations

from dataclasses import dataclass, field

# The roles of issue 8; policies (governance/policies/*.yml) grant access per role.
ROLES = (
    "gp",
    "practice_nurse",
    "practice_administrator",
    "consultant",
    "community_nurse",
    "social_worker",
    "care_coordinator",
    "discharge_volunteer",
    "analyst",
    "commissioner",
    "ig_officer",
    "data_sharing_board_member",
    "system_administrator",
    "patient",
    "system",
)


@dataclass(frozen=True)
class Actor:
    """A signed-in user or a system job, as services see it.

    Attributes:
        user_id: the user's opaque id ("system:ingest" for jobs).
        username: the sign-in name, for audit.
        role: one of ``ROLES``.
        org_code: the ODS-style code of the organisation the user works for.
        team_ids: teams the user belongs to (care teams, queues, the discharge service).
        person_id: for a patient, the linked person they are; otherwise None.
        client_address: where the request came from (IP address), recorded in the audit.
    """

    user_id: str
    username: str
    role: str
    org_code: str | None = None
    team_ids: tuple[str, ...] = field(default=())
    person_id: str | None = None
    client_address: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")


def system_actor(job: str) -> Actor:
    """The actor for an unattended job (ingest, daily run), recorded as such in the audit."""
    return Actor(user_id=f"system:{job}", username=f"system:{job}", role="system")
