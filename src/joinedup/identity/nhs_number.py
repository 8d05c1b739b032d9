"""NHS number checking: format, modulus-11 check digit, and placeholders that must never be trusted.

An NHS number is 10 digits; the 10th is a modulus-11 check digit over the first nine (weights 10
down to 2). A computed check digit of 10 means the number cannot exist. Real feeds also carry
placeholder numbers (``9999999999``, ``1111111111``, ``0123456789``...) typed in when the real one
was unknown: several of them pass the check digit, and a linker that trusted them would merge
strangers. They are reported as ``placeholder`` and never used to link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

NhsNumberStatus = Literal["valid", "missing", "wrong_length", "not_numeric", "bad_check_digit", "placeholder"]

_SEPARATORS = re.compile(r"[\s\-]+")

# Sequential runs keyed in as "some number" rather than the patient's own.
_SEQUENTIAL: Final = frozenset({"0123456789", "1234567890", "9876543210", "0987654321"})

# Numbers seen as placeholders in real trust feeds (beyond the all-same-digit and sequential runs).
KNOWN_PLACEHOLDERS: Final = frozenset({"9999999999", "1111111111", "0000000000"})

_REASONS: Final[dict[str, str]] = {
    "valid": "a well-formed NHS number with a correct check digit",
    "missing": "no NHS number was given",
    "wrong_length": "an NHS number has 10 digits; this one has {length}",
    "not_numeric": "the NHS number holds characters other than digits, spaces and dashes",
    "bad_check_digit": "the modulus-11 check digit does not match",
    "placeholder": "a known placeholder or test pattern, not a real person's NHS number",
}


@dataclass(frozen=True, slots=True)
class NhsNumberCheck:
    """The verdict on one NHS number as received.

    Attributes:
        status: valid | missing | wrong_length | not_numeric | bad_check_digit | placeholder.
        normalised: the 10 digits, only when ``status == "valid"`` (safe to link on); else None.
        digits: the input with spaces and dashes removed (whatever it held), for storage as given.
        reason: why, in plain words, never containing the number itself.
    """

    status: NhsNumberStatus
    normalised: str | None
    digits: str
    reason: str

    @property
    def is_valid(self) -> bool:
        """True when the number may be used to link records (well-formed, checked, not a placeholder)."""
        return self.status == "valid"


def check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits, or None when it would be 10 (no such number)."""
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True))
    digit = 11 - total % 11
    if digit == 11:
        return 0
    if digit == 10:
        return None
    return digit


def is_placeholder(digits: str) -> bool:
    """True for 10 digits that are a known placeholder, all one digit, or a sequential run."""
    return digits in KNOWN_PLACEHOLDERS or len(set(digits)) == 1 or digits in _SEQUENTIAL


def _verdict(status: NhsNumberStatus, digits: str, **fields: object) -> NhsNumberCheck:
    normalised = digits if status == "valid" else None
    return NhsNumberCheck(status, normalised, digits, _REASONS[status].format(**fields))


def check_nhs_number(raw: str | None) -> NhsNumberCheck:
    """Check an NHS number as received from a source system.

    Spaces and dashes are removed (``943 476 5919`` and ``943-476-5919`` are fine); anything else
    that is not a digit makes it ``not_numeric``. Placeholders are refused whether or not they pass
    the check digit (``9999999999`` passes it).
    """
    if raw is None:
        return _verdict("missing", "")
    digits = _SEPARATORS.sub("", raw)
    if not digits:
        return _verdict("missing", "")
    if not digits.isascii() or not digits.isdigit():
        return _verdict("not_numeric", digits)
    if len(digits) != 10:
        return _verdict("wrong_length", digits, length=len(digits))
    if is_placeholder(digits):
        # Before the check digit: the pattern is the more useful thing to tell the data owner.
        return _verdict("placeholder", digits)
    if check_digit(digits[:9]) != int(digits[9]):
        return _verdict("bad_check_digit", digits)
    return _verdict("valid", digits)
