"""The scale run's tool (``benchmarks/scale_run.py``): the projection from hand-made results, and one small run.

The projection is checked on results whose costs follow a known law, so the exponents and the
projected hours can be worked out by hand; the small run checks that every stage of the pipeline
runs and reports its cost and its counts, and that the folders are left as asked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "scale_run.py"
STARTUP = {"cpu_seconds": 4.0, "wall_seconds": 5.0}


def _result(people: int) -> dict[str, Any]:
    """A run where ingest costs 0.01 s per person, linkage 0.0001 × N^1.5 s and loading the opt-outs a second
    (less than the start-up's 4 s, so too little to measure), each on top of the start-up."""
    ingest, link = 0.01 * people, 0.0001 * people**1.5
    memory = {"peak_rss_mb": 500.0, "peak_tree_rss_mb": 500.0}
    return {"people": people, "years": 5, "machine": {"cores": 2}, "startup": STARTUP, "stages": [
        {"name": "ingest", "exit_code": 0, "cpu_seconds": 4.0 + ingest, "wall_seconds": 5.0 + ingest / 2, **memory},
        {"name": "link", "exit_code": 0, "cpu_seconds": 4.0 + link, "wall_seconds": 5.0 + link, **memory},
        {"name": "optouts", "exit_code": 0, "cpu_seconds": 5.0, "wall_seconds": 6.0, **memory},
    ]}


def _scale_run(*arguments: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def projection(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    folder = tmp_path_factory.mktemp("scale-results")
    files = []
    for people in (10_000, 100_000, 1_000_000):
        files.append(folder / f"scale-{people}.json")
        files[-1].write_text(json.dumps(_result(people)))
    run = _scale_run("--project", *map(str, files), "--cluster-cores", "32", "--json-out", str(folder / "p.json"))
    assert run.returncode == 0, run.stderr
    return json.loads((folder / "p.json").read_text()), run.stdout


def test_a_stage_linear_in_people_is_called_linear_and_a_steeper_one_is_not(
        projection: tuple[dict[str, Any], str]) -> None:
    stages = {stage["name"]: stage for stage in projection[0]["stages"]}
    assert stages["ingest"]["cpu_fit"]["b"] == pytest.approx(1.0, abs=1e-9)
    assert stages["ingest"]["linear"] is True
    assert stages["link"]["cpu_fit"]["b"] == pytest.approx(1.5, abs=1e-9)
    assert stages["link"]["linear"] is False


def test_a_stage_cheaper_than_the_start_up_is_not_given_an_exponent(projection: tuple[dict[str, Any], str]) -> None:
    optouts = next(stage for stage in projection[0]["stages"] if stage["name"] == "optouts")
    assert optouts["linear"] is None
    assert optouts["startup_bound"] is True
    # projected as linear from the largest run: 1 s for 1,000,000 people is 3 s for 3,000,000
    assert optouts["at"]["3000000"]["cpu_hours"] == pytest.approx((3.0 + 4.0) / 3600, rel=1e-3)
    assert "not measurable" in projection[1]


def test_the_region_and_england_are_projected_with_the_start_up_added_back(
        projection: tuple[dict[str, Any], str]) -> None:
    result, printed = projection
    ingest = next(stage for stage in result["stages"] if stage["name"] == "ingest")
    region, england = ingest["at"]["3000000"], ingest["at"]["57000000"]
    assert region["cpu_hours"] == pytest.approx((0.01 * 3_000_000 + 4.0) / 3600, rel=1e-3)
    assert region["wall_hours_this_machine"] == pytest.approx((0.005 * 3_000_000 + 5.0) / 3600, rel=1e-3)
    assert region["wall_hours_cluster"] == pytest.approx(region["cpu_hours"] / 32, rel=1e-3)
    assert england["cpu_hours"] == pytest.approx((0.01 * 57_000_000 + 4.0) / 3600, rel=1e-3)
    link_region = next(s for s in result["stages"] if s["name"] == "link")["at"]["3000000"]["cpu_hours"]
    optouts_region = (3.0 + 4.0) / 3600
    assert result["totals"]["3000000"]["cpu_hours"] == pytest.approx(
        region["cpu_hours"] + link_region + optouts_region, rel=1e-6)
    assert "England, 57,000,000 people" in printed
    assert "linear" in printed


@pytest.mark.slow
def test_one_population_is_taken_through_every_stage(tmp_path: Path) -> None:
    home, data, out = tmp_path / "home", tmp_path / "data", tmp_path / "scale-200.json"
    run = _scale_run("--people", "200", "--years", "3", "--home", str(home), "--data", str(data),
                     "--json-out", str(out), timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(out.read_text())
    stages = {stage["name"]: stage for stage in result["stages"]}
    assert list(stages) == ["synth", "ingest", "link", "optouts", "warehouse", "risk train", "risk score"]
    assert all(stage["exit_code"] == 0 and stage["cpu_seconds"] > 0 and stage["peak_rss_mb"] > 0
               for stage in stages.values())
    assert stages["synth"]["counts"]["people"] == 200
    assert stages["ingest"]["counts"]["accepted"] > 0
    assert stages["link"]["counts"]["persons"] == stages["warehouse"]["counts"]["persons"]
    assert stages["risk score"]["counts"]["people"] > 0
    assert result["disk"]["store_bytes"] > 0
    assert result["disk"]["warehouse_bytes"] > 0
    assert not home.exists()
    assert not data.exists()
