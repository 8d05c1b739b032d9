"""The command line as a newcomer meets it: help, status on an empty home, a bad database file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from joinedup.cli import COMMANDS

REQUIRED = {
    "demo", "synth", "ingest", "listen", "link", "warehouse", "report", "risk", "cohort", "serve", "users",
    "audit", "extract", "status",
}


def run_joinedup(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("JOINEDUP_")}
    environment.update({"JOINEDUP_HOME": str(home), "COLUMNS": "200", **env})
    return subprocess.run(
        [sys.executable, "-m", "joinedup.cli", *args], capture_output=True, text=True, env=environment, check=False
    )


def test_help_lists_every_command(tmp_path: Path) -> None:
    assert set(COMMANDS) >= REQUIRED
    result = run_joinedup("--help", home=tmp_path)
    assert result.returncode == 0
    listed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ ") and len(line.split()) > 1}
    assert listed >= REQUIRED


def test_status_json_on_an_empty_home(tmp_path: Path) -> None:
    result = run_joinedup("status", "--json", home=tmp_path / "new-home")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["people"] == 0
    assert report["practices"] == []
    assert report["records"] == {}
    assert report["quarantined"] == {}


def test_a_corrupt_database_file_gets_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "payroll.sqlite"
    bad.write_bytes(b"\x00\x01 definitely not sqlite " * 200)
    result = run_joinedup("status", home=tmp_path, JOINEDUP_DATABASE_URL=f"sqlite:///{bad}")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "payroll.sqlite" in lines[0]
    assert "Traceback" not in result.stderr


def test_secrets_are_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    from joinedup.settings import load_settings

    settings = load_settings(home=tmp_path)
    first = settings.secret("session_key").get_secret_value()
    assert settings.secret("session_key").get_secret_value() == first
    assert len(first) == 64
    assert (tmp_path / "secrets" / "session_key").stat().st_mode & 0o777 == 0o600
