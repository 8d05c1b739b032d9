"""The coordination centre's errors, in joinedup's one tree.

::

    InvalidInput ── CoordinationInputError   a referral, booking or form that cannot be accepted
                 └─ PathwayError             a pathway file or a step transition that is not valid
    Conflict     ── CapacityFull             the service has no capacity left that day
                 └─ StateConflict            the referral/task/case is not in a state that allows it

Messages name things by opaque ids (referral id, task id, person_id), never by patient details.
"""

from __future__ import annotations

from joinedup.errors import Conflict, InvalidInput


class CoordinationInputError(InvalidInput):
    """A request to the coordination centre that cannot be accepted as it is."""


class PathwayError(InvalidInput):
    """A pathway definition, or a move along a pathway, that is not valid."""


class CapacityFull(Conflict):
    """A service has no capacity left on the day asked for."""


class StateConflict(Conflict):
    """The thing is not in a state that allows the change (e.g. triaging a referral twice)."""
