"""Canonical domain types, named and shaped after FHIR R4 / UK Core. Pure: no I/O, no imports
from other joinedup packages."""

from joinedup.model.actor import ROLES, Actor, system_actor

__all__ = ["ROLES", "Actor", "system_actor"]
