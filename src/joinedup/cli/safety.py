"""``joinedup safety check``: the hazard log agrees with the code and the latest test run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from joinedup.cli._context import console, friendly_errors, out
from joinedup.safety import check_hazard_log, load_hazard_log, write_safety_case

DEFAULT_LOG = Path("docs/clinical-safety/hazards")
DEFAULT_REPORT = Path("docs/clinical-safety/safety-case.md")


def register(app: typer.Typer) -> None:
    """Add the ``safety`` command group."""
    safety = typer.Typer(help="Clinical safety (DCB0129): check the hazard log, regenerate the safety case.")
    app.add_typer(safety, name="safety")

    @safety.command("check")
    @friendly_errors
    def check(
        log: Annotated[Path, typer.Option(help="Folder of HAZ-*.yml hazard files.")] = DEFAULT_LOG,
        junit: Annotated[
            Path | None, typer.Option(help="pytest JUnit XML of the latest run: controls' tests must have passed.")
        ] = None,
        root: Annotated[Path, typer.Option(help="Project root that test paths are relative to.")] = Path(),
        write_report: Annotated[
            Path | None, typer.Option("--write-report", help="Regenerate the safety case report here.")
        ] = None,
    ) -> None:
        """Check every hazard: its controls name tests that exist (and passed), its residual risk is
        rated, and none above the acceptable level is left open without a justification."""
        hazards = load_hazard_log(log)
        if not hazards:
            console.print(f"[red]error:[/red] no hazards found in {log}")
            raise typer.Exit(code=1)
        findings = check_hazard_log(hazards, root=root, junit_xml=junit)
        if write_report:
            write_safety_case(write_report, hazards, findings)
        for finding in findings:
            console.print(f"[red]{finding.hazard_id}[/red]: {finding.problem}", highlight=False)
        tests = sum(len(control.tests) for hazard in hazards for control in hazard.controls)
        out.print(f"{len(hazards)} hazards, {tests} control tests, {len(findings)} findings")
        if findings:
            raise typer.Exit(code=1)
