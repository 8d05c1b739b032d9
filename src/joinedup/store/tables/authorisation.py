"""Authorisation: SMART on FHIR authorisation codes, each redeemable once.

A code is kept only as its SHA-256 hash (a stolen copy of the table redeems nothing), with the
PKCE challenge, the exact redirect URI and the scopes the user approved; ``redeemed_at`` marks it
spent, so a second redemption is refused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.store.tables.base import Base, UtcDateTime, utc_now


class SmartAuthorisationCode(Base):
    """A one-time code a signed-in user approved for a registered SMART app."""

    __tablename__ = "smart_authorisation_code"

    # Hex SHA-256 of the code handed to the app.
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[str] = mapped_column(String(32))
    redirect_uri: Mapped[str] = mapped_column(Text)
    # Space-separated, as approved (already narrowed to what governance allows the user).
    scope: Mapped[str] = mapped_column(Text)
    # PKCE S256 challenge: base64url SHA-256 of the app's code verifier.
    code_challenge: Mapped[str] = mapped_column(String(128))
    # launch/patient: the patient in context (the patient user's own linked person).
    patient_person_id: Mapped[str | None] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
