"""Throttles on sign-in attempts and patient searches (OWASP ASVS 2.2.1).

Moving windows of one minute, counted by the ``limits`` package:

- sign-in attempts (``POST /sign-in``, the authenticator step, ``POST /auth/token``): per client
  address, and separately per username typed, ``Settings.sign_in_attempts_per_minute`` each (the
  per-account lock-out after 5 wrong passwords still applies on top);
- patient searches (the find-a-patient page, ``POST /api/patients/search``, FHIR ``Patient``
  search): per signed-in user, ``Settings.searches_per_minute``.

Above a limit the caller gets 429 with ``Retry-After`` (the seconds until the oldest attempt in the
window leaves it). The counters live where ``Settings.rate_limit_storage`` says: ``memory://`` keeps
them in this process, so behind several workers each counts alone (the reverse proxy, or a shared
store such as Redis, must enforce the limit across them; see docs/deployment.md).

Usernames are hashed before they become keys: a person may type anything in that box.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from joinedup.settings import Settings


@dataclass(frozen=True)
class Refusal:
    """A request over its limit.

    Attributes:
        retry_after: whole seconds until the caller may try again (at least 1).
        limit: the limit that was reached, per minute.
        counted_by: what the limit counts per: ``client``, ``username`` or ``user``.
        first_in_minute: the first refusal for this key in a minute: audit it (a flood of refused
            requests must not flood the audit trail with one entry each).
    """

    retry_after: int
    limit: int
    counted_by: str
    first_in_minute: bool


class RateLimits:
    """The web process's throttles, built from the settings."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self._sign_in = RateLimitItemPerMinute(settings.sign_in_attempts_per_minute)
        self._search = RateLimitItemPerMinute(settings.searches_per_minute)
        self._audit_once = RateLimitItemPerMinute(1)

    def sign_in_attempt(self, client_address: str | None, username: str) -> Refusal | None:
        """Count one sign-in attempt; a ``Refusal`` when the client or the username is over its limit."""
        refusal = self._hit(self._sign_in, "sign-in", "client", client_address or "unknown")
        if refusal is None and username.strip():
            refusal = self._hit(self._sign_in, "sign-in", "username", _digest(username.strip().lower()))
        return refusal

    def patient_search(self, user_id: str) -> Refusal | None:
        """Count one patient search by a signed-in user; a ``Refusal`` when over the limit."""
        return self._hit(self._search, "search", "user", user_id)

    def _hit(self, item: RateLimitItem, what: str, counted_by: str, key: str) -> Refusal | None:
        if self._limiter.hit(item, what, counted_by, key):
            return None
        reset_at = self._limiter.get_window_stats(item, what, counted_by, key).reset_time
        return Refusal(
            retry_after=max(1, math.ceil(reset_at - time.time())),
            limit=item.amount,
            counted_by=counted_by,
            first_in_minute=self._limiter.hit(self._audit_once, "audited", what, counted_by, key),
        )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


__all__ = ["RateLimits", "Refusal"]
