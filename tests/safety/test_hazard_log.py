"""The clinical safety check: it passes on a consistent log and fails when evidence goes missing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from joinedup.errors import InvalidInput
from joinedup.safety import check_hazard_log, load_hazard_log, risk_rating
from joinedup.safety.safety_case import render_safety_case

ROOT = Path(__file__).resolve().parents[2]

HAZARD = """
id: HAZ-901
title: Example hazard
description: Something could go wrong.
cause: A cause.
effect: An effect.
patient_harm: A harm.
initial_risk: {{severity: major, likelihood: medium, rating: 3}}
controls:
  - description: A control proven by a test.
    tests: [{test}]
residual_risk: {{severity: major, likelihood: very_low, rating: 2}}
status: open
owner: Clinical Safety Officer
"""

EXISTING_TEST = "tests/safety/test_hazard_log.py::test_the_matrix_follows_dcb0129"


def write_hazard(folder: Path, test: str = EXISTING_TEST, **replace: str) -> None:
    text = HAZARD.format(test=test)
    for old, new in replace.items():
        text = text.replace(old, new)
    (folder / "HAZ-901.yml").write_text(textwrap.dedent(text))


def test_the_matrix_follows_dcb0129() -> None:
    assert risk_rating("catastrophic", "very_high") == 5
    assert risk_rating("minor", "very_low") == 1
    assert risk_rating("major", "medium") == 3
    assert risk_rating("considerable", "low") == 2


def test_a_consistent_log_has_no_findings(tmp_path: Path) -> None:
    write_hazard(tmp_path)
    hazards = load_hazard_log(tmp_path)
    assert check_hazard_log(hazards, root=ROOT) == []


def test_a_renamed_or_removed_control_test_is_found(tmp_path: Path) -> None:
    write_hazard(tmp_path, test="tests/safety/test_hazard_log.py::test_that_was_renamed")
    findings = check_hazard_log(load_hazard_log(tmp_path), root=ROOT)
    assert [finding.problem for finding in findings] == [
        "control test tests/safety/test_hazard_log.py::test_that_was_renamed does not exist "
        "(no such test in tests/safety/test_hazard_log.py)"
    ]
    write_hazard(tmp_path, test="tests/safety/test_deleted_file.py::test_anything")
    findings = check_hazard_log(load_hazard_log(tmp_path), root=ROOT)
    assert findings[0].problem.endswith("does not exist (no such file)")


def test_a_failed_or_missing_run_of_a_control_test_is_found(tmp_path: Path) -> None:
    write_hazard(tmp_path)
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite><testcase classname="tests.safety.test_hazard_log" '
        'name="test_the_matrix_follows_dcb0129"><failure message="boom"/></testcase></testsuite></testsuites>'
    )
    findings = check_hazard_log(load_hazard_log(tmp_path), root=ROOT, junit_xml=junit)
    problems = [finding.problem for finding in findings]
    assert problems == [f"control test {EXISTING_TEST} did not pass in the latest test run"]
    junit.write_text("<testsuites><testsuite/></testsuites>")
    findings = check_hazard_log(load_hazard_log(tmp_path), root=ROOT, junit_xml=junit)
    assert findings[0].problem == f"control test {EXISTING_TEST} did not run in the latest test run"


def test_an_unjustified_open_hazard_above_acceptable_risk_is_found(tmp_path: Path) -> None:
    residual_too_high = {"likelihood: very_low, rating: 2": "likelihood: low, rating: 3"}
    write_hazard(tmp_path, **residual_too_high)
    findings = check_hazard_log(load_hazard_log(tmp_path), root=ROOT)
    assert len(findings) == 1
    assert "above the acceptable level" in findings[0].problem


def test_a_rating_that_contradicts_the_matrix_is_refused(tmp_path: Path) -> None:
    write_hazard(tmp_path, **{"likelihood: very_low, rating: 2": "likelihood: very_low, rating: 1"})
    with pytest.raises(InvalidInput, match=r"HAZ-901.yml: residual_risk: .*does not match the DCB0129 matrix"):
        load_hazard_log(tmp_path)


def test_the_safety_case_lists_every_hazard_with_its_evidence(tmp_path: Path) -> None:
    write_hazard(tmp_path)
    report = render_safety_case(load_hazard_log(tmp_path), [])
    assert "| HAZ-901 | Example hazard | 3 | 2 | open | 1 |" in report
    assert f"evidence: `{EXISTING_TEST}`" in report


def test_the_projects_own_hazard_log_passes_the_check() -> None:
    hazards = load_hazard_log(ROOT / "docs" / "clinical-safety" / "hazards")
    assert len(hazards) >= 9
    assert check_hazard_log(hazards, root=ROOT) == []
