"""Time-based one-time passwords (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps) for staff sign-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote

STEP_SECONDS = 30
DIGITS = 6


def new_totp_secret() -> str:
    """A fresh random base32 secret (160 bits), as authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def totp_code(secret: str, at: float | None = None) -> str:
    """The code valid at ``at`` (seconds since the epoch; now by default), per RFC 6238 / RFC 4226."""
    counter = int((time.time() if at is None else at) // STEP_SECONDS)
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def verify_totp(secret: str, code: str, at: float | None = None, window: int = 1) -> bool:
    """Whether ``code`` is valid now, allowing ``window`` steps of clock drift either way."""
    now = time.time() if at is None else at
    candidates = (totp_code(secret, now + step * STEP_SECONDS) for step in range(-window, window + 1))
    return any(hmac.compare_digest(candidate, code.strip()) for candidate in candidates)


def provisioning_uri(secret: str, username: str, issuer: str = "joinedup") -> str:
    """The otpauth:// URI an authenticator app scans (as a QR code) to enrol."""
    return f"otpauth://totp/{quote(issuer)}:{quote(username)}?secret={secret}&issuer={quote(issuer)}"
