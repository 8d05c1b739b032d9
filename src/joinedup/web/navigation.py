"""The header navigation: which areas each role is offered (governance still decides each read).

Areas own their pages under these prefixes: ``/patients`` (record), ``/practice``, ``/integration``,
``/portal`` (web), ``/workforce``, ``/coordination``, ``/discharge``, ``/governance``, ``/dashboards``.
"""

from __future__ import annotations

from dataclasses import dataclass

from joinedup.model import Actor

CLINICAL = frozenset(
    {"gp", "practice_nurse", "consultant", "community_nurse", "social_worker", "care_coordinator"}
)
PRACTICE = frozenset({"gp", "practice_nurse", "practice_administrator"})
COORDINATION = CLINICAL | {"discharge_volunteer"}
GOVERNANCE = frozenset({"ig_officer", "data_sharing_board_member", "system_administrator"})
ANALYTICS = frozenset({"analyst", "commissioner", "gp", "care_coordinator"})


@dataclass(frozen=True)
class NavigationItem:
    """One link in the header."""

    label: str
    href: str


# (label, href, roles offered it), in the order shown.
_ITEMS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("Find a patient", "/patients", CLINICAL),
    ("My practice", "/practice", PRACTICE),
    ("Coordination", "/coordination", COORDINATION),
    ("Discharge", "/discharge", COORDINATION),
    ("Dashboards", "/dashboards", ANALYTICS),
    ("Workforce", "/workforce", frozenset({"care_coordinator", "community_nurse"})),
    ("Integration", "/integration", frozenset({"system_administrator"})),
    ("Governance", "/governance", GOVERNANCE),
    ("My record", "/portal", frozenset({"patient"})),
)


def navigation_for(actor: Actor | None) -> list[NavigationItem]:
    """The header links for ``actor`` (none before sign-in)."""
    if actor is None:
        return []
    return [NavigationItem(label, href) for label, href, roles in _ITEMS if actor.role in roles]


__all__ = ["NavigationItem", "navigation_for"]
