"""Errors of risk stratification (subclasses of the one tree in ``joinedup.errors``)."""

from __future__ import annotations

from joinedup.errors import InvalidInput, NotFound


class RiskError(InvalidInput):
    """A risk computation cannot go ahead with the data or request given (says what to do)."""


class ModelNotFound(NotFound):
    """No trained model in the home (run ``joinedup risk train`` first)."""
