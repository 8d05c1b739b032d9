"""``joinedup safety check``: every control's tests exist and passed, every risk is justified.

A test "exists" when its file exists and defines the named test function (read with ``ast``, not
imported); it "passed" when the JUnit XML of the latest test run records it without failure,
error or skip. Parametrised tests pass only when every parameter passed.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from joinedup.safety.hazard_log import Hazard
from joinedup.safety.risk_matrix import ACCEPTABLE_RATING


@dataclass(frozen=True)
class SafetyFinding:
    """One thing wrong with the hazard log, against one hazard."""

    hazard_id: str
    problem: str


def _defined_tests(path: Path) -> set[str]:
    """Names of test functions and ``Class::method`` pairs defined in a test file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}::{member.name}")
    return names


def junit_outcomes(junit_xml: Path) -> dict[str, bool]:
    """Map each test (``path::name`` without parameters) to whether all its runs passed."""
    outcomes: dict[str, bool] = {}
    root = ElementTree.parse(junit_xml).getroot()  # noqa: S314 - our own pytest output
    for case in root.iter("testcase"):
        classname = case.get("classname", "")
        name = case.get("name", "").split("[", 1)[0]
        parts = classname.split(".")
        # pytest writes "tests.pkg.test_mod" or "tests.pkg.test_mod.TestClass" as the classname.
        module_parts = parts if not parts[-1][:1].isupper() else parts[:-1]
        node = "/".join(module_parts) + ".py::" + (f"{parts[-1]}::{name}" if module_parts != parts else name)
        passed = not any(case.find(tag) is not None for tag in ("failure", "error", "skipped"))
        outcomes[node] = outcomes.get(node, True) and passed
    return outcomes


def check_hazard_log(hazards: list[Hazard], *, root: Path, junit_xml: Path | None = None) -> list[SafetyFinding]:
    """Check the hazard log against the code and the latest test run.

    Args:
        hazards: the log, as loaded by ``load_hazard_log``.
        root: the project root, against which test paths are resolved.
        junit_xml: pytest's JUnit XML of the latest run; without it only existence is checked.

    Returns:
        Every finding; an empty list means the log is consistent.
    """
    outcomes = junit_outcomes(junit_xml) if junit_xml else None
    findings: list[SafetyFinding] = []
    for hazard in hazards:
        findings.extend(_check_risk(hazard))
        for control in hazard.controls:
            if control.kind == "design" and not control.tests:
                findings.append(SafetyFinding(hazard.id, f"design control names no test: {control.description}"))
            for node in control.tests:
                problem = _check_test(node, root=root, outcomes=outcomes)
                if problem:
                    findings.append(SafetyFinding(hazard.id, problem))
    return findings


def _check_risk(hazard: Hazard) -> list[SafetyFinding]:
    findings = []
    if hazard.residual_risk.rating > hazard.initial_risk.rating:
        findings.append(SafetyFinding(hazard.id, "residual risk is higher than the initial risk"))
    if hazard.residual_risk.rating > ACCEPTABLE_RATING and hazard.status == "open" and not hazard.justification:
        findings.append(
            SafetyFinding(
                hazard.id,
                f"residual risk {hazard.residual_risk.rating} is above the acceptable level "
                f"({ACCEPTABLE_RATING}) and the hazard is open without a recorded justification",
            )
        )
    return findings


def _check_test(node: str, *, root: Path, outcomes: dict[str, bool] | None) -> str | None:
    file_part, _, name = node.partition("::")
    path = root / file_part
    if not name or not path.is_file():
        return f"control test {node} does not exist (no such file)"
    if name not in _defined_tests(path):
        return f"control test {node} does not exist (no such test in {file_part})"
    if outcomes is not None:
        if node not in outcomes:
            return f"control test {node} did not run in the latest test run"
        if not outcomes[node]:
            return f"control test {node} did not pass in the latest test run"
    return None
