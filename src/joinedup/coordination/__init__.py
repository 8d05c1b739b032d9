"""The care coordination centre and voluntary-sector discharge support.

Referrals in (phone form, FHIR ServiceRequest) and triage; the pathway library (versioned YAML);
pathway instances, tasks and queues, bookings against a service directory with capacity; care
plans (FHIR CarePlan shape) and telehealth alerts; the live board; proactive discharge
coordination from ADT news (``process_outbox``); and the voluntary-sector discharge service:
worklist, patient passport, settle-in checklist, follow-up calls, Home from Hospital, experience
surveys and the service's measures.

May import ``joinedup.risk``, ``joinedup.record``, ``joinedup.governance``, ``joinedup.store`` and
``joinedup.model``; never the web layer or the command line.
"""

from joinedup.coordination.board import board
from joinedup.coordination.outbox import process_outbox
from joinedup.coordination.pathway_library import load_pathway_library, shipped_library
from joinedup.coordination.referrals import CENTRE_TEAM_ID
from joinedup.coordination.schemas import BoardFilters, BoardRow

__all__ = [
    "CENTRE_TEAM_ID",
    "BoardFilters",
    "BoardRow",
    "board",
    "load_pathway_library",
    "process_outbox",
    "shipped_library",
]
