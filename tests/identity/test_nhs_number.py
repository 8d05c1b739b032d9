"""NHS number checking against public validators' cases and the nhs-number package."""

from __future__ import annotations

import csv
from pathlib import Path

import nhs_number
import pytest

from joinedup.identity import check_nhs_number
from joinedup.identity.nhs_number import check_digit


def _vectors(fixtures_dir: Path) -> list[dict[str, str]]:
    with (fixtures_dir / "nhs-number" / "nhs_number_vectors.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_agrees_with_fixture_vectors_and_nhs_number_package(fixtures_dir: Path) -> None:
    vectors = _vectors(fixtures_dir)
    assert len(vectors) == 42
    for vector in vectors:
        raw = vector["value"]
        check = check_nhs_number(raw)
        digits = check.digits
        passes_check_digit = len(digits) == 10 and digits.isdigit() and check_digit(digits[:9]) == int(digits[9])
        if check.status == "valid":
            assert passes_check_digit
        elif check.status != "placeholder":
            assert not passes_check_digit
        # The package normalises spaces too, so it is the reference for every raw string.
        assert passes_check_digit == (vector["nhs_number_pkg_is_valid"] == "True"), vector["source"]
        if raw == raw.strip() and " " not in raw:
            assert passes_check_digit == (vector["mod11_valid"] == "True"), vector["source"]
        if check.status == "valid":
            assert nhs_number.is_valid(check.normalised)


@pytest.mark.parametrize(
    ("raw", "status", "normalised"),
    [
        ("943 476 5919", "valid", "9434765919"),
        ("943-476-5919", "valid", "9434765919"),
        (" 9434765919\t", "valid", "9434765919"),
        (None, "missing", None),
        ("   ", "missing", None),
        ("943476591", "wrong_length", None),
        ("94347659190", "wrong_length", None),
        ("94347659I9", "not_numeric", None),
        ("9434765918", "bad_check_digit", None),
        # 10 digits whose weighted sum gives check digit 10: no such number can exist.
        ("0000000060", "bad_check_digit", None),
        ("9999999999", "placeholder", None),
        ("1111111111", "placeholder", None),
        ("0000000000", "placeholder", None),
        ("4444444444", "placeholder", None),
        ("0123456789", "placeholder", None),
        ("1234567890", "placeholder", None),
        ("9876543210", "placeholder", None),
    ],
)
def test_statuses(raw: str | None, status: str, normalised: str | None) -> None:
    check = check_nhs_number(raw)
    assert (check.status, check.normalised) == (status, normalised)
    assert check.is_valid == (status == "valid")


def test_check_digit_ten_is_invalid() -> None:
    # 000000006: sum = 6*2 = 12, 12 % 11 = 1, 11 - 1 = 10 -> no valid check digit.
    for last in "0123456789":
        assert check_nhs_number("000000006" + last).status == "bad_check_digit"


def test_reason_never_contains_the_number() -> None:
    for raw in ["9434765919", "9434765918", "943476591", "9999999999", "94347659I9"]:
        check = check_nhs_number(raw)
        assert raw not in check.reason
        assert check.reason
