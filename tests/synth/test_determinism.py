"""The same seed gives byte-identical output, whatever the number of worker processes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from joinedup.synth import SynthError, generate_economy


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_and_the_manifest_says_so(tmp_path: Path) -> None:
    first = generate_economy(tmp_path / "a", people=300, years=1, seed=5, faults=0.05)
    generate_economy(tmp_path / "b", people=300, years=1, seed=5, faults=0.05)
    digests = _digests(tmp_path / "a")
    assert digests == _digests(tmp_path / "b")
    manifest = orjson.loads((tmp_path / "a" / "manifest.json").read_bytes())
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert listed == {k: v for k, v in digests.items() if k != "manifest.json"}
    assert sum(f.record_count for f in first.files) == sum(f["record_count"] for f in manifest["files"])


def test_two_workers_write_the_same_bytes_as_one(tmp_path: Path) -> None:
    generate_economy(tmp_path / "one", people=250, years=1, seed=9, faults=0.02)
    generate_economy(tmp_path / "two", people=250, years=1, seed=9, faults=0.02, workers=2)
    assert _digests(tmp_path / "one") == _digests(tmp_path / "two")


def test_another_seed_gives_another_borough(tmp_path: Path) -> None:
    generate_economy(tmp_path / "a", people=200, years=1, seed=1, faults=0.0)
    generate_economy(tmp_path / "b", people=200, years=1, seed=2, faults=0.0)
    a = (tmp_path / "a" / "truth" / "persons.csv").read_bytes()
    b = (tmp_path / "b" / "truth" / "persons.csv").read_bytes()
    assert a != b


def test_the_fault_rate_changes_the_reports_not_the_world(tmp_path: Path) -> None:
    generate_economy(tmp_path / "clean", people=200, years=1, seed=3, faults=0.0)
    generate_economy(tmp_path / "faulty", people=200, years=1, seed=3, faults=0.1)
    for name in ("persons.csv", "events.csv", "latent_risk.csv"):
        assert (tmp_path / "clean" / "truth" / name).read_bytes() == (tmp_path / "faulty" / "truth" / name).read_bytes()


def test_refuses_arguments_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match="seed"):
        generate_economy(tmp_path / "a", people=10, years=1, seed=-1, faults=0.0)
    with pytest.raises(SynthError, match="fault rate"):
        generate_economy(tmp_path / "b", people=10, years=1, seed=1, faults=0.9)
    assert not (tmp_path / "a").exists()


def test_refuses_a_folder_holding_something_else(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(SynthError, match="not empty"):
        generate_economy(tmp_path, people=10, years=1, seed=1, faults=0.0)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_rerunning_into_an_earlier_output_replaces_it(tmp_path: Path) -> None:
    generate_economy(tmp_path, people=100, years=2, seed=1, faults=0.0)
    generate_economy(tmp_path, people=100, years=1, seed=1, faults=0.0)
    months = sorted(p.name for p in (tmp_path / "hospital-sus").glob("apc-*.csv"))
    assert len(months) == 12
