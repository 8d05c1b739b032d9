"""The warehouse's errors: a build step or an engine failed, named by mart step, never by row values."""

from __future__ import annotations

from joinedup.errors import EngineError, InvalidInput


class WarehouseError(EngineError):
    """A warehouse build step or its engine failed (the message names the step, never row values)."""


class WarehouseInputError(InvalidInput):
    """A warehouse request that cannot be met as asked (unknown engine, mart or measure)."""
