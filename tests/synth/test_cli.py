"""``joinedup synth`` writes the folder and prints the rates table."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from joinedup.cli import app


def test_synth_command_writes_the_borough_and_the_rates(tmp_path: Path) -> None:
    out = tmp_path / "borough"
    result = CliRunner().invoke(
        app, ["synth", "--people", "120", "--years", "1", "--seed", "3", "--faults", "0.05", "--out", str(out),
             "--workers", "1", "--start", "2023-01-01"]
    )
    assert result.exit_code == 0, result.output
    assert "emergency_admissions" in result.output
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert (manifest["seed"], manifest["people"], manifest["years"], manifest["fault_rate"]) == (3, 120, 1, 0.05)
    assert manifest["start_date"] == "2023-01-01"
    assert manifest["end_date"] == "2024-01-01"
    assert len(list((out / "hospital-sus").glob("apc-*.csv"))) == 12


def test_synth_command_explains_bad_arguments_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--people", "0", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "people must be between" in result.output
