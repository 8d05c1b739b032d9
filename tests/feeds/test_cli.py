"""``joinedup ingest`` from the command line: the summary a user reads, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from joinedup.cli import app

from .builders import adt


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JOINEDUP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("JOINEDUP_DATABASE_URL", raising=False)
    return tmp_path / "home"


def test_ingest_prints_the_accounting_and_replay_runs(home: Path, feed_dir: Path) -> None:
    pas = feed_dir / "hospital-pas"
    pas.mkdir()
    messages = [adt("A01", "C1", "20240110083000", admit="20240110083000"),
                adt("A01", "C1", "20240110083000", admit="20240110083000"),
                adt("A01", "C2", "20240110083000", visit="", admit="20240110083000")]
    (pas / "adt-2024-01.hl7").write_text("\n".join(messages))
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(feed_dir), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["ingest"]
    assert (summary["read"], summary["accepted"], summary["duplicates"], summary["quarantined"]) == (3, 1, 1, 1)
    assert summary["quarantined_by_reason"] == {"missing_field": 1}
    replay = runner.invoke(app, ["ingest", "--replay", "--json"])
    assert replay.exit_code == 0, replay.output
    assert json.loads(replay.stdout)["replay"]["quarantined"] == 1
    table = runner.invoke(app, ["ingest", str(feed_dir)])
    assert "files read / skipped (done before)" in table.stdout
    assert "0 / 1" in table.stdout


def test_ingest_exits_non_zero_only_when_it_cannot_run(home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(tmp_path / "missing")]).exit_code == 2
    assert runner.invoke(app, ["ingest", str(tmp_path), "--format", "edifact"]).exit_code == 1
