"""The one tree of joinedup's errors.

::

    JoinedUpError
    ├── InvalidInput        bad data or a bad request; says what and where, never the values
    │   └── (FeedError, in joinedup.feeds)
    ├── NotFound            no such thing, or the caller may not know it exists
    ├── AccessDenied        the access decision said no; carries a reason the user can act on
    ├── Conflict            the change clashes with the current state (e.g. a second merge)
    ├── EngineError         the database or analytic engine failed; wraps the library error
    └── StoreVersionError   the database was written by a newer joinedup, or is not a joinedup store

Messages name the failing thing by opaque ids (person_id, message id, field path, mart step) and
never carry patient identifiers: no NHS numbers, names, birth dates, addresses or raw payloads.
"""

from __future__ import annotations


class JoinedUpError(Exception):
    """Base of every error joinedup raises on purpose."""


class InvalidInput(JoinedUpError):
    """Input that cannot be accepted as it is."""


class NotFound(JoinedUpError):
    """The thing asked for does not exist, or the caller may not learn that it does."""


class AccessDenied(JoinedUpError):
    """An access decision refused the request.

    Args:
        reason: why, in words the user can act on ("you have no care relationship with this person;
            use break-glass if this is an emergency"). Never describes the record itself.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Conflict(JoinedUpError):
    """The request clashes with the current state."""


class EngineError(JoinedUpError):
    """A database or analytic engine failed underneath us."""


class StoreVersionError(JoinedUpError):
    """The database is from a newer joinedup, or is not a joinedup database at all."""
