"""Identity's errors (messages carry opaque ids only, never demographics)."""

from __future__ import annotations

from joinedup.errors import JoinedUpError


class IdentityError(JoinedUpError):
    """A linkage step failed (e.g. no trained model, a corrupt settings file)."""
